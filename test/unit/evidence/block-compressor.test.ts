import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { BlockCompressor, levelForBlock, storedGzip, storedGzipParts } from '../../../src/evidence/block-compressor.js';

function collect(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) });
  return { sink, bytes: () => Buffer.concat(parts) };
}

describe('block compressor', () => {
  it('stored members over chunk lists gunzip to the chunks, whatever their sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200_000 }), { maxLength: 6 }), (sizes) => {
        const chunks = sizes.map((n) => randomBytes(n));
        const member = Buffer.concat(storedGzipParts(chunks));
        expect(gunzipSync(member).equals(Buffer.concat(chunks))).toBe(true);
        // The header member (one buffer) has a size that is a function of the input size alone.
        const n = sizes.reduce((a, b) => a + b, 0);
        expect(storedGzip(Buffer.concat(chunks)).length).toBe(10 + Math.max(1, Math.ceil(n / 0xffff)) * 5 + n + 8);
      }),
      { numRuns: 30 },
    );
  });

  it('stores random data, compresses text, and the stream gunzips to the input in order', async () => {
    const random = randomBytes(700_000);
    const text = Buffer.from('2026-01-01T00:00:00Z host sshd[4242]: accepted publickey\n'.repeat(20_000));
    expect(levelForBlock(random, 1)).toBe(0);
    expect(levelForBlock([text.subarray(0, 10_000), text.subarray(10_000, 300_000)], 1)).toBe(1);
    const out = collect();
    const c = new BlockCompressor(out.sink, 1);
    const input = Buffer.concat([text, random, text.subarray(0, 12_345)]);
    // Mixed chunk sizes, including many tiny ones (as the line redactor writes).
    for (let o = 0, i = 0; o < input.length; i++) {
      const n = i % 50 < 40 ? 97 : 32_768;
      c.write(input.subarray(o, o + n));
      o += n;
    }
    c.end();
    await finished(c);
    const archive = out.bytes();
    expect(gunzipSync(archive).equals(input)).toBe(true);
    // Text shrinks a lot; random data is stored (a few bytes of framing per block).
    expect(archive.length).toBeLessThan(random.length + text.length / 4);
    expect(archive.length).toBeGreaterThan(random.length);
  });
});
