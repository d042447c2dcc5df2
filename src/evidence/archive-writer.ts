/**
 * Streaming evidence archive (tar.gz). A tar header must state the entry size before its data,
 * and remote output has no size in advance, so each artifact is streamed once into a private
 * spool file while SHA-256 and the byte count are computed, then copied into the archive. Memory
 * stays flat whatever the artifact size; packing of one artifact overlaps the transfer of the next.
 * The archive is written to `<path>.partial` and renamed only when complete.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip, constants as zc } from 'node:zlib';
import tar, { type Header as TarHeader } from 'tar-stream';
import { isSafeEntryPath } from './entry-names.js';

export interface EntryDigest {
  path: string;
  sha256: string;
  bytes: number;
}

export interface ArchiveWriterOptions {
  /** gzip level 0–9; 6 by default. */
  compressionLevel?: number;
  /** Entry modification time (the archive's own clock, for reproducible listings). */
  mtime?: Date;
}

/** A Writable that hashes and counts what passes through before it reaches `inner`. */
class HashingWritable extends Writable {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly inner: Writable) {
    super({ highWaterMark: 1 << 20 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.inner.write(chunk)) cb();
    else this.inner.once('drain', () => cb());
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end(() => cb());
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.inner.destroy(err ?? undefined);
    cb(err);
  }
}

export class EvidenceArchiveWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  private packQueue: Promise<void> = Promise.resolve();
  private readonly names = new Set<string>();
  private spoolCounter = 0;
  private sealed = false;

  private constructor(
    readonly path: string,
    private readonly spoolDir: string,
    private readonly options: ArchiveWriterOptions,
  ) {
    const gzip = createGzip({ level: options.compressionLevel ?? zc.Z_DEFAULT_COMPRESSION, chunkSize: 1 << 16 });
    this.done = pipeline(this.pack, gzip, createWriteStream(`${path}.partial`, { mode: 0o600 }));
    this.done.catch(() => undefined);
  }

  static async create(path: string, options: ArchiveWriterOptions = {}): Promise<EvidenceArchiveWriter> {
    const spoolDir = await mkdtemp(join(dirname(path), `.${basename(path)}.spool-`));
    return new EvidenceArchiveWriter(path, spoolDir, options);
  }

  /** Make an entry name unique (hostile data may produce collisions after sanitizing). */
  uniqueName(path: string): string {
    if (!isSafeEntryPath(path)) throw new Error(`unsafe archive entry name: ${JSON.stringify(path)}`);
    let name = path;
    for (let i = 2; this.names.has(name); i++) name = `${path}.${i}`;
    this.names.add(name);
    return name;
  }

  /**
   * Stream one entry: `produce` writes into the sink it is given (with backpressure); the data is
   * hashed on the way to the spool file. Resolves once spooled and queued for packing, with the
   * digest and whatever `produce` returned. The sink is ended here, not by `produce`.
   */
  async addStreamed<T>(path: string, produce: (sink: Writable) => Promise<T>): Promise<{ digest: EntryDigest; result: T }> {
    this.assertOpen();
    const name = this.uniqueName(path);
    const spoolPath = join(this.spoolDir, String(this.spoolCounter++));
    const spool = createWriteStream(spoolPath, { mode: 0o600, highWaterMark: 1 << 20 });
    const sink = new HashingWritable(spool);
    let result: T;
    try {
      result = await produce(sink);
    } finally {
      sink.end();
      await finished(sink).catch(() => undefined);
      await finished(spool).catch(() => undefined);
    }
    const digest: EntryDigest = { path: name, sha256: sink.hash.digest('hex'), bytes: sink.bytes };
    this.enqueue(name, digest.bytes, () => createReadStream(spoolPath, { highWaterMark: 1 << 20 }), () =>
      rm(spoolPath, { force: true }),
    );
    return { digest, result };
  }

  /** Add a small in-memory entry (manifest, journal, policy text). */
  async addBuffer(path: string, data: Buffer | string): Promise<EntryDigest> {
    this.assertOpen();
    const name = this.uniqueName(path);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    this.enqueueBuffer(name, buf);
    return { path: name, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length };
  }

  /** Write everything out, rename into place; returns the archive's size. */
  async finalize(): Promise<void> {
    this.assertOpen();
    this.sealed = true;
    try {
      await this.packQueue;
      this.pack.finalize();
      await this.done;
      await rename(`${this.path}.partial`, this.path);
    } finally {
      await rm(this.spoolDir, { recursive: true, force: true });
    }
  }

  /** Give up: remove the partial archive and spool files. */
  async abort(): Promise<void> {
    this.sealed = true;
    this.pack.destroy();
    await this.done.catch(() => undefined);
    await rm(`${this.path}.partial`, { force: true });
    await rm(this.spoolDir, { recursive: true, force: true });
  }

  /** Wait for all queued entries to be packed (surfaces packing errors early). */
  async flush(): Promise<void> {
    await this.packQueue;
  }

  private assertOpen(): void {
    if (this.sealed) throw new Error('archive already finalized');
  }

  private header(name: string, size: number): TarHeader {
    return { name, size, mode: 0o644, mtime: this.options.mtime ?? new Date(), type: 'file', uname: 'tailnet-ir', gname: 'tailnet-ir', linkname: '', uid: 0, gid: 0, devmajor: 0, devminor: 0 };
  }

  private enqueueBuffer(name: string, data: Buffer): void {
    this.chain(
      () =>
        new Promise<void>((resolve, reject) => {
          this.pack.entry(this.header(name, data.length), data, (err) => (err ? reject(err) : resolve()));
        }),
    );
  }

  /** Append to the packing queue; a failure surfaces at flush()/finalize(), never unhandled. */
  private chain(step: () => Promise<void>): void {
    this.packQueue = this.packQueue.then(step);
    this.packQueue.catch(() => undefined);
  }

  private enqueue(name: string, size: number, open: () => Readable, cleanup: () => Promise<void>): void {
    this.chain(async () => {
      try {
        await new Promise<void>((resolve, reject) => {
          const entry = this.pack.entry(this.header(name, size), (err) => (err ? reject(err) : resolve()));
          const src = open();
          src.once('error', reject);
          src.pipe(entry);
        });
      } finally {
        await cleanup();
      }
    });
  }
}
