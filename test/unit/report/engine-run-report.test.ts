/**
 * The report against journals the real engine writes (node-compromise against the engine's
 * fake tailnet and ports), so a change in what the engine journals breaks a test here.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkippingClock } from '../../../src/core/clock.js';
import { createDefaultRegistry } from '../../../src/engine/activities/index.js';
import { findPlaybook } from '../../../src/engine/playbook-catalog.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { startRun, type EngineDeps } from '../../../src/engine/run-engine.js';
import { createFlagApprover } from '../../../src/engine/approvers.js';
import { buildRunReport } from '../../../src/report/build-run-report.js';
import { loadRunReportSources } from '../../../src/report/load-run-report.js';
import { renderMarkdown } from '../../../src/report/render-markdown.js';
import { FakeApiError, FakeTailnet, seedTailnet } from '../engine/fakes/fake-tailnet.js';
import { fakeWorld } from '../engine/fakes/fake-ports.js';

async function run(target: string, runId: string, approve: string, prepare: (t: FakeTailnet) => void = () => undefined) {
  const clock = new SkippingClock('2026-03-01T10:00:00Z');
  const tailnet = seedTailnet(new FakeTailnet(clock));
  prepare(tailnet);
  const world = fakeWorld(tailnet, clock);
  const registry = createDefaultRegistry();
  const home = mkdtempSync(join(tmpdir(), 'tnir-report-engine-'));
  const store = new RunStore(home, clock);
  const deps: EngineDeps = { store, registry, ports: world.ports, approver: createFlagApprover(approve, 'tester') };
  const outcome = await startRun(deps, { playbook: await findPlaybook('node-compromise', registry), inputs: { target, responders: ['group:ir'] }, runId });
  const report = buildRunReport(await loadRunReportSources(store, runId, new Date('2026-03-02T00:00:00Z')));
  return { outcome, report };
}

describe('report of runs driven by the real engine', () => {
  it('tagged device, all approved: every mutation, its approval, the revoked key and the eradication', async () => {
    const { outcome, report } = await run('web-1', 'run-tagged', 'all');
    expect(outcome.status).toBe('completed');
    expect(report.status.state).toBe('completed');
    expect(report.target).toMatchObject({ nodeId: 'nWEB1CNTRL', hostname: 'web-1', tags: ['tag:web'] });
    expect(report.actions.map((a) => [a.step, a.outcome, a.approval?.by ?? null])).toEqual([
      ['quarantine', 'applied', 'tester'],
      ['revoke-keys', 'applied', 'tester'],
      ['delete-device', 'applied', 'tester'],
      ['recreate', 'applied', 'tester'],
      ['release-quarantine', 'applied', null],
    ]);
    expect(report.identity).toMatchObject({ kind: 'tagged', proposedKeyIds: ['kWEB'], revokedKeyIds: ['kWEB'] });
    expect(report.policyChanges[0]).toMatchObject({ kind: 'quarantine', outcome: 'applied', diff: '+// quarantine nWEB1CNTRL', testsKnown: true });
    expect(report.evidence).toMatchObject({ archivePath: '/evidence/run-tagged.tar', sha256: 'ab'.repeat(32), verified: true, artifactCount: 3 });
    // the fake archive is not on disk: the report says so instead of failing
    expect(report.evidence?.manifestError).toContain('the archive is not there any more');
    expect(report.eradication).toMatchObject({ deleted: { deviceId: 'nWEB1CNTRL' }, recreated: { tags: ['tag:web'], hostname: 'web-1' }, quarantineReleased: true });
    expect(report.eradication.newDevice?.hostname).toBe('web-1');
    expect(report.integrity.ok).toBe(true);
    expect(renderMarkdown(report)).toContain('### revoke-keys: revoke-auth-keys (destructive)');
  });

  it('user-owned device: the suspension and no rebuild', async () => {
    const { report } = await run('100.64.0.1', 'run-user', 'all');
    expect(report.identity).toMatchObject({ kind: 'user', userId: 'u-alice', suspended: true, step: 'suspend-user' });
    expect(report.eradication.recreated).toBeNull();
    expect(report.timeline.filter((e) => e.phase === 'skip').map((e) => e.step)).toEqual(['revoke-keys', 'collect', 'recreate', 'wait-for-device']);
  });

  it('paused at the first gate: the resume command is the one the engine printed', async () => {
    const { outcome, report } = await run('web-1', 'run-gates', 'none');
    expect(outcome.status).toBe('paused');
    expect(report.status).toMatchObject({ state: 'paused', step: 'quarantine', waitingFor: 'approval', exitCode: 5 });
    expect(outcome.message).toContain(report.status.resumeCommand as string);
    expect(report.status.resumeCommand).toBe('tailnet-ir resume run-gates --approve quarantine');
  });

  it('paused after a failure (403 on suspend): the failed action, the API error, and a plain resume command', async () => {
    const { outcome, report } = await run('laptop-1', 'run-403', 'all', (t) => t.failNext('suspendUser', new FakeApiError('calling user may not suspend this user', 403)));
    expect(outcome.status).toBe('paused');
    expect(report.status).toMatchObject({ state: 'paused', step: 'suspend-user', waitingFor: 'operator', resumeCommand: 'tailnet-ir resume run-403' });
    expect(report.status.reason).toContain('calling user may not suspend this user');
    expect(report.actions.find((a) => a.step === 'suspend-user')).toMatchObject({ outcome: 'failed', error: 'calling user may not suspend this user', approval: { by: 'tester' } });
    expect(report.identity).toMatchObject({ kind: 'user', suspended: false });
    expect(report.todo.some((t) => t.includes('`tailnet-ir resume run-403`'))).toBe(true);
    expect(report.todo).toContain('User alice@example.com is not suspended yet.');
  });
});
