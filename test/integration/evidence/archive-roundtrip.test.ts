import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { EvidenceArchiveWriter } from '../../../src/evidence/archive-writer.js';
import { verifyArchive } from '../../../src/evidence/verify-archive.js';

import { manifestFor } from '../../support/evidence-manifest.js';

describe('streaming archive writer and verifier', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tir-arch-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function build(name: string, payloads: Buffer[]): Promise<string> {
    const path = join(dir, name);
    const w = await EvidenceArchiveWriter.create(path);
    const recs = [];
    for (const [i, p] of payloads.entries()) {
      const { digest } = await w.addStreamed(`artifacts/h/c/f${i}.bin`, async (sink) => {
        for (let off = 0; off < p.length; off += 65536) {
          if (!sink.write(p.subarray(off, off + 65536))) await new Promise((r) => sink.once('drain', r));
        }
      });
      expect(digest.sha256).toBe(createHash('sha256').update(p).digest('hex'));
      recs.push(digest);
    }
    await w.addBuffer('manifest.json', JSON.stringify(manifestFor(recs)));
    await w.finalize();
    return path;
  }

  it('writes a tar.gz that GNU tar reads, with exact contents, and cleans up its spool', async () => {
    const payloads = [randomBytes(300_000), Buffer.alloc(0), Buffer.from('hello\n')];
    const path = await build('a.tar.gz', payloads);
    expect(existsSync(`${path}.partial`)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('spool'))).toEqual([]);
    const listing = execFileSync('tar', ['-tzf', path], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toEqual(['artifacts/h/c/f0.bin', 'artifacts/h/c/f1.bin', 'artifacts/h/c/f2.bin', 'manifest.json']);
    const out = execFileSync('tar', ['-xzOf', path, 'artifacts/h/c/f0.bin']);
    expect(out.equals(payloads[0] as Buffer)).toBe(true);
    const r = await verifyArchive(path, { requireSignature: false });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.artifactsChecked).toBe(3);
  });

  it('names the entry when one byte of the archive is changed', async () => {
    const path = await build('b.tar.gz', [randomBytes(200_000), Buffer.from('second')]);
    const bytes = readFileSync(path);
    const at = Math.floor(bytes.length / 3);
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);
    const r = await verifyArchive(path, { requireSignature: false });
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.file), JSON.stringify(r.problems)).toContain('artifacts/h/c/f0.bin');
  });

  it('rejects unsafe entry names', async () => {
    const w = await EvidenceArchiveWriter.create(join(dir, 'c.tar.gz'));
    await expect(w.addBuffer('../evil', 'x')).rejects.toThrow(/unsafe/);
    await w.abort();
    expect(existsSync(join(dir, 'c.tar.gz.partial'))).toBe(false);
  });

  it('reports entries missing from, or not listed in, the manifest', async () => {
    const path = join(dir, 'd.tar.gz');
    const w = await EvidenceArchiveWriter.create(path);
    const a = await w.addBuffer('artifacts/h/c/a', 'a');
    await w.addBuffer('artifacts/h/c/extra', 'smuggled');
    await w.addBuffer('manifest.json', JSON.stringify(manifestFor([a, { path: 'artifacts/h/c/gone', sha256: 'a'.repeat(64), bytes: 1 }])));
    await w.finalize();
    const r = await verifyArchive(path, { requireSignature: false });
    expect(r.problems).toEqual(
      expect.arrayContaining([
        { file: 'artifacts/h/c/extra', problem: 'present in the archive but not listed in the manifest' },
        { file: 'artifacts/h/c/gone', problem: 'listed in the manifest but missing from the archive' },
      ]),
    );
  });
});

describe('archive files are never overwritten', () => {
  it('refuses an existing archive or a concurrent partial file', async () => {
    const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
    const { ConflictError } = await import('../../../src/core/errors.js');
    const d = mkdtempSync(join(tmpdir(), 'tir-ow-'));
    const path = join(d, 'x.tar.gz');
    writeFileSync(path, 'earlier evidence');
    await expect(EvidenceArchiveWriter.create(path)).rejects.toThrow(ConflictError);
    expect(readFileSync(path, 'utf8')).toBe('earlier evidence');
    const other = join(d, 'y.tar.gz');
    const first = await EvidenceArchiveWriter.create(other);
    await expect(EvidenceArchiveWriter.create(other)).rejects.toThrow(/another collection/);
    await first.abort();
    rmSync(d, { recursive: true, force: true });
  });
});
