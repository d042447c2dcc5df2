/** Read a tar.gz evidence archive in tests: entry names and (small) contents. */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';

export async function readArchive(path: string, keepUpTo = 8 * 1024 * 1024): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    let n = 0;
    stream.on('data', (c: unknown) => {
      const b = c as Buffer;
      if (n < keepUpTo) chunks.push(b.subarray(0, keepUpTo - n));
      n += b.length;
    });
    stream.on('end', () => {
      out.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  await pipeline(createReadStream(path), createGunzip(), extract);
  return out;
}
