import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshArchivePath } from '../../../src/evidence/evidence-collector-adapter.js';

const existing = (paths: string[]) => async (p: string) => paths.includes(p);

describe('freshArchivePath (a resumed collection never overwrites an earlier attempt)', () => {
  it('uses the plain name for the first attempt', async () => {
    expect(await freshArchivePath('/r/evidence', 'RUN1', existing([]))).toBe(join('/r/evidence', 'evidence-RUN1.tar.gz'));
  });

  it('skips an archive and a partial archive left by earlier attempts', async () => {
    const taken = [join('/r/evidence', 'evidence-RUN1.tar.gz'), join('/r/evidence', 'evidence-RUN1-attempt-2.tar.gz.partial')];
    expect(await freshArchivePath('/r/evidence', 'RUN1', existing(taken))).toBe(join('/r/evidence', 'evidence-RUN1-attempt-3.tar.gz'));
  });

  it('refuses, bounded, when every name is taken', async () => {
    let asked = 0;
    await expect(freshArchivePath('/r/evidence', 'RUN1', async () => (asked++, true), 5)).rejects.toThrow(/already holds 5 collection attempts/);
    expect(asked).toBe(5);
  });
});
