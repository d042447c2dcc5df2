import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvidenceArchiveWriter, type ArchiveLayout } from '../../../src/evidence/archive-writer.js';
import { checkSealedArchive, layoutProblems } from '../../../src/evidence/sealed-archive-check.js';
import { verifyArchive } from '../../../src/evidence/verify-archive.js';
import { MANIFEST_PATH } from '../../../src/evidence/manifest.js';
import { manifestFor } from '../../support/evidence-manifest.js';

/** A sealed archive with a text artifact, a random one (stored blocks), a long pax name and an
 *  empty entry, plus the manifest listing them. */
async function sealed(path: string, opts: { listAll?: boolean } = {}): Promise<ArchiveLayout> {
  const w = await EvidenceArchiveWriter.create(path);
  const digests = [];
  digests.push(await w.addBuffer('artifacts/h/c/text.log', 'line\n'.repeat(200_000)));
  const random = randomBytes(700_000);
  digests.push(
    (
      await w.addStreamed('artifacts/h/c/random.bin', async (sink) => {
        for (let i = 0; i < random.length; i += 65_536) sink.write(random.subarray(i, i + 65_536));
      })
    ).digest,
  );
  digests.push(await w.addBuffer(`artifacts/h/c/${'long-name-'.repeat(15)}`, 'x'));
  digests.push(await w.addBuffer('artifacts/h/c/empty', ''));
  const listed = opts.listAll === false ? digests.slice(1) : digests;
  await w.addBuffer(MANIFEST_PATH, JSON.stringify(manifestFor(listed)));
  await w.finalize();
  return w.layout();
}

describe('quick self-check of a sealed archive (from the recorded layout)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tir-seal-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes on a good archive that the full verifier also accepts', async () => {
    const path = join(dir, 'good.tar.gz');
    const layout = await sealed(path);
    expect(layout.entries.map((e) => e.name)).toEqual([
      'artifacts/h/c/text.log',
      'artifacts/h/c/random.bin',
      `artifacts/h/c/${'long-name-'.repeat(15)}`,
      'artifacts/h/c/empty',
      MANIFEST_PATH,
    ]);
    expect(layoutProblems(layout)).toEqual([]);
    expect(await checkSealedArchive(path, layout)).toEqual([]);
    expect((await verifyArchive(path, { requireSignature: false })).ok).toBe(true);
  });

  it('names the entry whose header on disk was damaged', async () => {
    const path = join(dir, 'header.tar.gz');
    const layout = await sealed(path);
    const bytes = readFileSync(path);
    const random = layout.entries[1];
    if (!random) throw new Error('no entry');
    const at = random.headerAt + random.header.length - 200;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
    writeFileSync(path, bytes);
    const problems = await checkSealedArchive(path, layout);
    expect(problems).toContainEqual({ file: 'artifacts/h/c/random.bin', problem: 'tar header on disk differs from what was written' });
  });

  it('catches a damaged manifest and a truncated file', async () => {
    const path = join(dir, 'manifest.tar.gz');
    const layout = await sealed(path);
    const bytes = readFileSync(path);
    const at = layout.endAt - 12; // inside the manifest's compressed member
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
    writeFileSync(path, bytes);
    expect((await checkSealedArchive(path, layout)).map((p) => p.file)).toContain(MANIFEST_PATH);

    const cut = join(dir, 'cut.tar.gz');
    const cutLayout = await sealed(cut);
    truncateSync(cut, cutLayout.size - 20);
    const problems = await checkSealedArchive(cut, cutLayout);
    expect(problems.some((p) => /bytes, \d+ were written/.test(p.problem))).toBe(true);
  });

  it('reports entries the manifest does not list', async () => {
    const path = join(dir, 'unlisted.tar.gz');
    const layout = await sealed(path, { listAll: false });
    expect(await checkSealedArchive(path, layout)).toContainEqual({ file: 'artifacts/h/c/text.log', problem: 'in the archive but not listed in the manifest' });
  });

  it('rejects a layout with a gap between members', async () => {
    const path = join(dir, 'gap.tar.gz');
    const layout = await sealed(path);
    const [first, ...rest] = layout.entries;
    if (!first) throw new Error('no entry');
    const gapped = { ...layout, entries: [{ ...first, dataBytes: first.dataBytes - 1 }, ...rest] };
    expect(layoutProblems(gapped)).toEqual([{ file: 'artifacts/h/c/random.bin', problem: `header member at byte ${first.dataAt + first.dataBytes}, expected ${first.dataAt + first.dataBytes - 1}` }]);
  });
});
