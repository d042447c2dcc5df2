import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/run-cli.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { SkippingClock } from '../../../src/core/clock.js';

async function makeRun(home: string, id: string) {
  const store = new RunStore(home, new SkippingClock('2026-03-01T10:00:00Z'));
  const run = await store.create(
    { id, playbookId: 'node-compromise', playbookSha256: 'x', inputs: { target: 'web-1' }, createdAt: 't0', updatedAt: 't1', status: 'paused', currentStep: 'delete-device', message: 'waiting for approval of delete-device', toolVersion: '0' },
    'id: x\n',
  );
  await run.journal.append('run-started', undefined, { playbook: 'node-compromise' });
  await run.journal.append('plan', 'triage', { summary: ['x'] });
  await run.journal.append('done', 'triage', {});
  await run.journal.append('done', 'seal', { output: { archivePath: '/runs/x/evidence/evidence-x.tar.gz', signaturePath: '/runs/x/evidence/evidence-x.tar.gz.sig' } });
  await run.journal.append('plan', 'delete-device', { digest: 'd', plan: { action: 'delete-device', stepId: 'delete-device', summary: ['delete device web-1 (nWEB1)'], mutations: [{ kind: 'delete-device', target: 'nWEB1', detail: '' }], destructive: true, warnings: [], data: {} } });
  await run.journal.append('approval-requested', 'delete-device', { message: 'waiting', prompt: 'Delete web-1?' });
  await run.close();
  return run.dir;
}

describe('tailnet-ir runs / journal verify', () => {
  it('lists and shows runs from $TAILNET_IR_HOME', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tnir-home-'));
    await makeRun(home, 'run-one');
    const env = { TAILNET_IR_HOME: home };
    const list = await runCli(['runs', '--json'], { env });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ runs: [{ id: 'run-one', status: 'paused' }] });
    const show = await runCli(['runs', 'show', 'run-one'], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/triage\s+done/);
    expect(show.stdout).toMatch(/delete-device\s+awaiting-approval/);
    expect(show.stdout).toContain('chain intact');
    expect(show.stdout).toContain('waiting for approval: delete-device - Delete web-1?');
    expect(show.stdout).toContain('  will delete-device nWEB1');
    // Where the sealed evidence is, for `tailnet-ir verify`.
    expect(show.stdout).toContain('evidence: /runs/x/evidence/evidence-x.tar.gz\n  signature: /runs/x/evidence/evidence-x.tar.gz.sig');
  });

  it('journal verify exits 0 when intact and 1 naming the first broken entry', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tnir-home-'));
    const dir = await makeRun(home, 'run-two');
    const env = { TAILNET_IR_HOME: home };
    const ok = await runCli(['journal', 'verify', 'run-two', '--json'], { env });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: 6 });
    const path = join(dir, 'journal.jsonl');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"triage"', '"TRIAGE"'));
    const bad = await runCli(['journal', 'verify', 'run-two'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('BROKEN at line 3 (entry 3)');
  });

  it('an unknown run is exit 2 with a hint', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tnir-home-'));
    const r = await runCli(['runs', 'show', 'no-such-run'], { env: { TAILNET_IR_HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('run not found');
  });
});
