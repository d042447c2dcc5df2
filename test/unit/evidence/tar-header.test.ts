import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { encodeFileHeader, tarPadding, TAR_END } from '../../../src/evidence/tar-header.js';
import { storedGzipMember } from '../../../src/evidence/archive-writer.js';
import { levelForBlock } from '../../../src/evidence/block-compressor.js';
import { randomBytes } from 'node:crypto';

async function headersOf(tarBytes: Buffer): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, stream, next) => {
    out.push({ name: h.name, size: h.size ?? -1 });
    stream.resume();
    stream.on('end', next);
  });
  await pipeline(Readable.from([tarBytes]), ex);
  return out;
}

describe('tar header encoding', () => {
  it('writes ustar headers that tar-stream reads, with pax for long or non-ASCII names', async () => {
    const long = `artifacts/${'h'.repeat(80)}/${'c'.repeat(40)}/${'ü'.repeat(30)}.txt`;
    const data = Buffer.from('hello');
    const bytes = Buffer.concat([
      encodeFileHeader('short.txt', data.length, new Date(0)),
      data,
      Buffer.alloc(tarPadding(data.length)),
      encodeFileHeader(long, 0, new Date(0)),
      TAR_END,
    ]);
    expect(await headersOf(bytes)).toEqual([
      { name: 'short.txt', size: 5 },
      { name: long, size: 0 },
    ]);
  });

  it('has a length that depends on the name only, and encodes sizes past 8 GiB in base-256', () => {
    expect(encodeFileHeader('x', 0, new Date(0)).length).toBe(encodeFileHeader('x', 64 * 2 ** 30, new Date(0)).length);
    const h = encodeFileHeader('big', 2 ** 34 + 5, new Date(0));
    expect(h[124]).toBe(0x80);
    let v = 0n;
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i] ?? 0);
    expect(v).toBe(2n ** 34n + 5n);
  });

  it('builds stored gzip members that gunzip reads and whose size is predictable', () => {
    const d = randomBytes(1536);
    const m = storedGzipMember(d);
    expect(m.length).toBe(d.length + 23);
    expect(gunzipSync(m).equals(d)).toBe(true);
  });

  it('stores incompressible blocks and compresses the rest', () => {
    expect(levelForBlock(randomBytes(256 * 1024), 6)).toBe(0);
    expect(levelForBlock(Buffer.alloc(1 << 20, 'a'), 6)).toBe(6);
  });
});
