/**
 * Compresses a stream into a sequence of independent gzip members, one per 256 KiB block, on the
 * zlib thread pool while the transfer continues (so compression runs on another core). Blocks
 * that do not compress (random data, already-compressed files) are stored (level 0) instead of
 * burning CPU for nothing: a small sample of each block decides. Concatenated gzip members form
 * a valid gzip stream, so the archive stays an ordinary .tar.gz.
 */
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { crc32, deflateRawSync, gzip } from 'node:zlib';

const BLOCK_SIZE = 256 * 1024;
const SAMPLE = 16 * 1024;
const MAX_IN_FLIGHT = 3;

function gzipAsync(data: Buffer, level: number): Promise<Buffer> {
  if (level === 0) return Promise.resolve(storedGzip(data));
  return new Promise((resolve, reject) => gzip(data, { level }, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * A gzip member made of stored deflate blocks (≤ 65535 bytes each): a copy plus a CRC, far
 * cheaper than running zlib at level 0. Its size is a function of the input size alone.
 */
export function storedGzip(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / 0xffff));
  const out = Buffer.alloc(10 + blocks * 5 + data.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], 0);
  let o = 10;
  for (let i = 0; i < blocks; i++) {
    const part = data.subarray(i * 0xffff, Math.min(data.length, (i + 1) * 0xffff));
    out[o] = i === blocks - 1 ? 1 : 0; // BFINAL on the last block; BTYPE 00 = stored
    out.writeUInt16LE(part.length, o + 1);
    out.writeUInt16LE(~part.length & 0xffff, o + 3);
    part.copy(out, o + 5);
    o += 5 + part.length;
  }
  out.writeUInt32LE(crc32(data) >>> 0, o);
  out.writeUInt32LE(data.length % 2 ** 32, o + 4);
  return out;
}

/** Level for one block: stored when a sample barely compresses. */
export function levelForBlock(block: Buffer, level: number): number {
  if (level === 0 || block.length < 4096) return level;
  const sample = block.subarray(0, SAMPLE);
  return deflateRawSync(sample, { level: 1 }).length > sample.length * 0.95 ? 0 : level;
}

export class BlockCompressor extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight: Promise<Buffer>[] = [];
  compressedBytes = 0;

  constructor(
    private readonly out: Writable,
    private readonly level: number,
  ) {
    super({ highWaterMark: BLOCK_SIZE });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.drainBlocks(false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.drainBlocks(true)
      .then(async () => {
        while (this.inFlight.length) await this.emitOldest();
        this.out.end();
        await finished(this.out);
        cb();
      })
      .catch(cb);
  }

  private async drainBlocks(final: boolean): Promise<void> {
    while (this.pendingBytes >= BLOCK_SIZE || (final && this.pendingBytes > 0)) {
      const all = Buffer.concat(this.pending);
      const block = all.subarray(0, Math.min(BLOCK_SIZE, all.length));
      const rest = all.subarray(block.length);
      this.pending = rest.length ? [rest] : [];
      this.pendingBytes = rest.length;
      this.inFlight.push(gzipAsync(block, levelForBlock(block, this.level)));
      while (this.inFlight.length >= MAX_IN_FLIGHT) await this.emitOldest();
    }
  }

  /** Write the oldest compressed block (order is preserved), honouring backpressure. */
  private async emitOldest(): Promise<void> {
    const next = this.inFlight.shift();
    if (!next) return;
    const member = await next;
    this.compressedBytes += member.length;
    if (!this.out.write(member)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }
}
