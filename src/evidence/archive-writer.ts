/**
 * Streaming evidence archive (tar.gz) written in one pass, without spooling.
 *
 * A tar header states the entry size before its data, and remote output has no size in
 * advance. The archive is a sequence of gzip members (concatenated members are one valid gzip
 * stream: `tar xzf`, `gzip -d` and Node's gunzip all read it). Each entry starts with a small
 * *stored* gzip member holding the previous entry's padding and this entry's tar header: its
 * length depends only on the entry name, so the writer reserves that many bytes, streams the
 * data (hashed, then compressed block by block on the zlib thread pool) straight after it, and
 * fills the reserved slot in place once the size is known. Memory stays flat whatever the
 * artifact size and every byte is written once. The file is `<path>.partial` until finalized.
 */
import { createHash } from 'node:crypto';
import { access, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { ConflictError } from '../core/errors.js';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { BlockCompressor, storedGzip } from './block-compressor.js';
import { isSafeEntryPath } from './entry-names.js';
import { encodeFileHeader, tarPadding, TAR_END } from './tar-header.js';

export interface EntryDigest {
  path: string;
  sha256: string;
  bytes: number;
}

/** Where one entry lies in the file, recorded while writing so the sealed archive can be
 *  checked without inflating it again (see sealed-archive-check.ts). */
export interface EntryLayout {
  name: string;
  /** Offset and bytes of the stored gzip member holding (previous padding + tar header). */
  headerAt: number;
  header: Buffer;
  /** Zero bytes of the previous entry's padding at the start of that member. */
  padding: number;
  /** Compressed data members that follow the header member. */
  dataAt: number;
  dataBytes: number;
  size: number;
  sha256: string;
}

export interface ArchiveLayout {
  /** File size when sealed. */
  size: number;
  entries: EntryLayout[];
  /** Offset of the last member (previous padding + the two zero blocks). */
  endAt: number;
}

export interface ArchiveWriterOptions {
  /** gzip level 0–9 for data that compresses; incompressible blocks are stored. Default 1:
   *  in an incident, collection speed matters more than the last 20% of archive size. */
  compressionLevel?: number;
  /** Entry modification time (the archive's own clock). */
  mtime?: Date;
}

/** The stored gzip member that holds one entry header (≤ 64 KiB, size known in advance). */
export function storedGzipMember(data: Buffer): Buffer {
  if (data.length > 0xffff) throw new RangeError('stored member limited to 65535 bytes');
  return storedGzip(data);
}

/** Hashes and counts what passes through before it reaches `inner`. */
class HashingWritable extends Writable {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly inner: Writable) {
    super({ highWaterMark: 256 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.inner.write(chunk)) cb();
    else this.inner.once('drain', () => cb());
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end();
    finished(this.inner).then(() => cb(), cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.inner.destroy(err ?? undefined);
    cb(err);
  }
}

/** Appends to the archive file at the writer's position. */
class PositionalWritable extends Writable {
  constructor(private readonly writer: EvidenceArchiveWriter) {
    super({ highWaterMark: 256 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writer.append(chunk).then(() => cb(), cb);
  }
  /** A stored block arrives as many small parts: one writev instead of a write each. */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.writer.appendv(chunks.map((c) => c.chunk)).then(() => cb(), cb);
  }
}

export class EvidenceArchiveWriter {
  private position = 0;
  private readonly names = new Set<string>();
  private sealed = false;
  /** Zero bytes still owed after the previous entry's data (tar pads to 512). */
  private owedPadding = 0;
  private readonly level: number;
  /** Entries are written one at a time, in call order. */
  private lock: Promise<void> = Promise.resolve();
  private readonly entries: EntryLayout[] = [];
  private endAt = -1;

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    private readonly options: ArchiveWriterOptions,
  ) {
    this.level = options.compressionLevel ?? 1;
  }

  /** Refuses to touch an existing archive (or a concurrent run's partial file): evidence is
   *  never overwritten. */
  static async create(path: string, options: ArchiveWriterOptions = {}): Promise<EvidenceArchiveWriter> {
    const exists = await access(path).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new ConflictError(`${path} already exists; evidence archives are never overwritten. Nothing was collected.`, {
        hint: 'Choose a new --out file name (e.g. with the date and case id).',
      });
    let file: FileHandle;
    try {
      file = await open(`${path}.partial`, 'wx', 0o600);
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST')
        throw new ConflictError(`${path}.partial exists: another collection into this file is running or was interrupted.`, {
          hint: 'Use another --out name, or remove the stale .partial file once you are sure no collection is running.',
        });
      throw err;
    }
    return new EvidenceArchiveWriter(path, file, options);
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
   * hashed and compressed straight into the archive. The sink is ended here, not by `produce`.
   */
  async addStreamed<T>(path: string, produce: (sink: Writable) => Promise<T>): Promise<{ digest: EntryDigest; result: T }> {
    this.assertOpen();
    const name = this.uniqueName(path);
    return this.exclusive(async () => {
      const slot = await this.reserveHeader(name);
      const dataAt = this.position;
      const sink = new HashingWritable(new BlockCompressor(new PositionalWritable(this), this.level));
      let result: T;
      try {
        result = await produce(sink);
      } finally {
        sink.end();
        await finished(sink);
      }
      const digest = { path: name, sha256: sink.hash.digest('hex'), bytes: sink.bytes };
      await this.fillHeader(slot, digest, dataAt);
      return { digest, result };
    });
  }

  /** Add a small in-memory entry (manifest, journal, policy text). */
  async addBuffer(path: string, data: Buffer | string): Promise<EntryDigest> {
    this.assertOpen();
    const name = this.uniqueName(path);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = { path: name, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length };
    await this.exclusive(async () => {
      const slot = await this.reserveHeader(name);
      const dataAt = this.position;
      if (buf.length) await this.append(gzipSync(buf, { level: this.level }));
      await this.fillHeader(slot, digest, dataAt);
    });
    return digest;
  }

  /** Write the end-of-archive marker, sync, and rename into place. */
  async finalize(): Promise<void> {
    this.assertOpen();
    this.sealed = true;
    await this.exclusive(async () => {
      this.endAt = this.position;
      await this.append(gzipSync(Buffer.concat([Buffer.alloc(this.owedPadding), TAR_END])));
      await this.file.sync();
      await this.file.close();
      await rename(`${this.path}.partial`, this.path);
    });
  }

  /** Where every entry was written (complete once finalized). */
  layout(): ArchiveLayout {
    return { size: this.position, entries: [...this.entries], endAt: this.endAt };
  }

  /** Give up: remove the partial archive. */
  async abort(): Promise<void> {
    this.sealed = true;
    await this.lock.catch(() => undefined);
    await this.file.close().catch(() => undefined);
    await rm(`${this.path}.partial`, { force: true });
  }

  /** @internal Append bytes at the current position. */
  async append(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await this.file.write(data, off, data.length - off, this.position);
      off += bytesWritten;
      this.position += bytesWritten;
    }
  }

  /** @internal Append several buffers at the current position with one writev where possible. */
  async appendv(parts: Buffer[]): Promise<void> {
    const rest = parts.filter((p) => p.length > 0);
    while (rest.length) {
      const { bytesWritten } = await this.file.writev(rest, this.position);
      this.position += bytesWritten;
      // Short write: drop what was written and continue with the remainder.
      let skip = bytesWritten;
      while (rest.length && skip >= (rest[0] as Buffer).length) skip -= (rest.shift() as Buffer).length;
      if (skip > 0 && rest.length) rest[0] = (rest[0] as Buffer).subarray(skip);
    }
  }

  private assertOpen(): void {
    if (this.sealed) throw new Error('archive already finalized');
  }

  private exclusive<R>(step: () => Promise<R>): Promise<R> {
    const run = this.lock.then(step);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Reserve the stored member for (previous padding + this header); its size ignores `size`. */
  private async reserveHeader(name: string): Promise<{ at: number; padding: number }> {
    const slot = { at: this.position, padding: this.owedPadding };
    const length = storedGzipMember(Buffer.concat([Buffer.alloc(slot.padding), encodeFileHeader(name, 0, new Date(0))])).length;
    await this.append(Buffer.alloc(length));
    return slot;
  }

  private async fillHeader(slot: { at: number; padding: number }, digest: EntryDigest, dataAt: number): Promise<void> {
    const header = encodeFileHeader(digest.path, digest.bytes, this.options.mtime ?? new Date());
    const member = storedGzipMember(Buffer.concat([Buffer.alloc(slot.padding), header]));
    await this.file.write(member, 0, member.length, slot.at);
    this.owedPadding = tarPadding(digest.bytes);
    this.entries.push({
      name: digest.path,
      headerAt: slot.at,
      header: member,
      padding: slot.padding,
      dataAt,
      dataBytes: this.position - dataAt,
      size: digest.bytes,
      sha256: digest.sha256,
    });
  }
}
