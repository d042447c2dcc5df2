/**
 * The quick self-check of an archive this process just sealed. Every entry was hashed while it
 * streamed and the writer recorded where each gzip member landed, so instead of inflating the
 * whole archive again (as `verifyArchive` does) we check, from the file on disk:
 *  - the members tile the file exactly (no gap, no overlap, nothing after the end marker);
 *  - every tar header member reads back byte for byte as written, inflates, and states the
 *    entry's size; every data region starts with a gzip member;
 *  - manifest.json inflates, hashes to what was written, parses, and lists exactly the entries
 *    written with their SHA-256 and sizes; the two zero blocks close the archive.
 * What it does not redo is inflating the artifacts' compressed data: zlib produced it from the
 * very bytes that were hashed. `verifyArchive` (the engine's verify step, `tailnet-ir verify`)
 * does the full independent pass.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { ArchiveLayout, EntryLayout } from './archive-writer.js';
import { MANIFEST_PATH, manifestSchema } from './manifest.js';
import { TAR_END } from './tar-header.js';
import type { VerifyProblem } from './verify-archive.js';

const BLOCK = 512;

/** Pure: the recorded members must tile the file from offset 0 to its end. */
export function layoutProblems(layout: ArchiveLayout): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  let expected = 0;
  for (const e of layout.entries) {
    if (e.headerAt !== expected) problems.push({ file: e.name, problem: `header member at byte ${e.headerAt}, expected ${expected}` });
    if (e.dataAt !== e.headerAt + e.header.length) problems.push({ file: e.name, problem: 'data does not follow its header member' });
    expected = e.dataAt + e.dataBytes;
  }
  if (layout.endAt !== expected) problems.push({ file: 'archive', problem: `end marker at byte ${layout.endAt}, expected ${expected}` });
  return problems;
}

/** Size field of the last (ustar) header block: octal, or base-256 for ≥ 8 GiB. */
function headerSize(block: Buffer): number {
  const field = block.subarray(124, 136);
  if ((field[0] ?? 0) & 0x80) {
    let n = (field[0] ?? 0) & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  return parseInt(field.toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
}

async function readAt(file: Awaited<ReturnType<typeof open>>, at: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(buf, got, length - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

function checkHeader(e: EntryLayout, onDisk: Buffer, problems: VerifyProblem[]): void {
  if (!onDisk.equals(e.header)) {
    problems.push({ file: e.name, problem: 'tar header on disk differs from what was written' });
    return;
  }
  let plain: Buffer;
  try {
    plain = gunzipSync(onDisk);
  } catch (err) {
    problems.push({ file: e.name, problem: `tar header member does not inflate: ${(err as Error).message}` });
    return;
  }
  const last = plain.subarray(plain.length - BLOCK);
  if (plain.subarray(0, e.padding).some((b) => b !== 0) || last.subarray(257, 262).toString('latin1') !== 'ustar')
    problems.push({ file: e.name, problem: 'tar header member is malformed' });
  else if (headerSize(last) !== e.size) problems.push({ file: e.name, problem: `tar header says ${headerSize(last)} bytes, ${e.size} were written` });
}

export async function checkSealedArchive(path: string, layout: ArchiveLayout): Promise<VerifyProblem[]> {
  const problems = layoutProblems(layout);
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size !== layout.size) problems.push({ file: path, problem: `file is ${size} bytes, ${layout.size} were written` });

    for (const e of layout.entries) {
      checkHeader(e, await readAt(file, e.headerAt, e.header.length), problems);
      if (e.dataBytes > 0) {
        const magic = await readAt(file, e.dataAt, 3);
        if (!magic.equals(Buffer.from([0x1f, 0x8b, 8]))) problems.push({ file: e.name, problem: 'compressed data does not start with a gzip member' });
      }
    }

    const manifestEntry = layout.entries.at(-1);
    if (manifestEntry?.name !== MANIFEST_PATH) {
      problems.push({ file: MANIFEST_PATH, problem: 'manifest.json is not the last entry' });
      return problems;
    }
    let tail: Buffer;
    try {
      tail = gunzipSync(await readAt(file, manifestEntry.headerAt, layout.size - manifestEntry.headerAt));
    } catch (err) {
      problems.push({ file: MANIFEST_PATH, problem: `does not inflate: ${(err as Error).message}` });
      return problems;
    }
    const headerPlain = gunzipSync(manifestEntry.header).length;
    const data = tail.subarray(headerPlain, headerPlain + manifestEntry.size);
    const rest = tail.subarray(headerPlain + manifestEntry.size);
    if (rest.length !== ((BLOCK - (manifestEntry.size % BLOCK)) % BLOCK) + TAR_END.length || rest.some((b) => b !== 0))
      problems.push({ file: 'archive', problem: 'the archive does not end with the tar end marker right after manifest.json' });
    if (createHash('sha256').update(data).digest('hex') !== manifestEntry.sha256)
      problems.push({ file: MANIFEST_PATH, problem: 'manifest.json on disk differs from what was written' });
    let parsed;
    try {
      parsed = manifestSchema.safeParse(JSON.parse(data.toString('utf8')));
    } catch (err) {
      problems.push({ file: MANIFEST_PATH, problem: `not JSON: ${(err as Error).message}` });
      return problems;
    }
    if (!parsed.success) {
      problems.push({ file: MANIFEST_PATH, problem: `does not match the manifest schema: ${parsed.error.message}` });
      return problems;
    }
    const written = new Map(layout.entries.slice(0, -1).map((e) => [e.name, e]));
    for (const listed of [...parsed.data.artifacts, ...parsed.data.attachments]) {
      const e = written.get(listed.path);
      if (!e) problems.push({ file: listed.path, problem: 'listed in the manifest but not in the archive' });
      else if (e.sha256 !== listed.sha256 || e.size !== listed.bytes) problems.push({ file: listed.path, problem: 'manifest hash or size differs from what was written' });
      written.delete(listed.path);
    }
    for (const name of written.keys()) problems.push({ file: name, problem: 'in the archive but not listed in the manifest' });
    return problems;
  } finally {
    await file.close();
  }
}
