/**
 * Minimal POSIX ustar/pax header encoding for the evidence archive: regular files only. Names
 * longer than ustar allows, non-ASCII names and sizes ≥ 8 GiB go into a pax extended header,
 * which GNU tar, bsdtar and tar-stream all read.
 */
const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  const s = Math.floor(value).toString(8).padStart(length - 1, '0');
  buf.write(`${s}\0`, offset, length, 'ascii');
}

/** Sizes past 11 octal digits use the base-256 form (GNU tar, bsdtar and tar-stream read it). */
function writeSize(buf: Buffer, size: number): void {
  if (size <= MAX_OCTAL_SIZE) return writeOctal(buf, 124, 12, size);
  buf[124] = 0x80;
  let v = BigInt(size);
  for (let i = 135; i > 124; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function rawHeader(name: string, size: number, mtime: Date, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeSize(h, size);
  writeOctal(h, 136, 12, Math.floor(mtime.getTime() / 1000));
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\u000000', 257, 8, 'ascii');
  writeString(h, 265, 32, 'tailnet-ir');
  writeString(h, 297, 32, 'tailnet-ir');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Bytes of zero padding that follow `size` bytes of entry data. */
export function tarPadding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The header block(s) for a regular file entry. Its length depends on the name only, never on
 *  the size, so space for it can be reserved before the size is known. */
export function encodeFileHeader(name: string, size: number, mtime: Date): Buffer {
  const nameFits = Buffer.byteLength(name) <= 100 && /^[\x20-\x7e]*$/.test(name);
  if (nameFits) return rawHeader(name, size, mtime, '0');
  const records = Buffer.from(paxRecord('path', name));
  const shortName = Buffer.from(name).subarray(0, 90).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
  return Buffer.concat([
    rawHeader(`PaxHeader/${shortName}`.slice(0, 100), records.length, mtime, 'x'),
    records,
    Buffer.alloc(tarPadding(records.length)),
    rawHeader(shortName, size, mtime, '0'),
  ]);
}

/** End of archive: two zero blocks. */
export const TAR_END = Buffer.alloc(BLOCK * 2);
