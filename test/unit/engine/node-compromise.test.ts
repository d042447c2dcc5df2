import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkippingClock } from '../../../src/core/clock.js';
import { createDefaultRegistry } from '../../../src/engine/activities/index.js';
import { findPlaybook } from '../../../src/engine/playbook-catalog.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { startRun, resumeRun, type EngineDeps } from '../../../src/engine/run-engine.js';
import { createFlagApprover } from '../../../src/engine/approvers.js';
import { verifyJournalFile } from '../../../src/engine/journal.js';
import { FakeApiError, FakeTailnet, seedTailnet } from './fakes/fake-tailnet.js';
import { fakeWorld } from './fakes/fake-ports.js';
import type { Approver } from '../../../src/engine/ports.js';
import { EnrolmentFailedError, EnrolmentRefusedError } from '../../../src/rebuild/enrolment-failed-error.js';

async function setup(approver: Approver = createFlagApprover('all', 'tester')) {
  const clock = new SkippingClock('2026-03-01T10:00:00Z');
  const tailnet = seedTailnet(new FakeTailnet(clock));
  const world = fakeWorld(tailnet, clock);
  const registry = createDefaultRegistry();
  const home = mkdtempSync(join(tmpdir(), 'tnir-nc-'));
  const deps: EngineDeps = { store: new RunStore(home, clock), registry, ports: world.ports, approver };
  const playbook = await findPlaybook('node-compromise', registry);
  return { clock, tailnet, world, deps, playbook, home };
}

describe('node-compromise playbook, end to end against fakes', () => {
  it('tagged device: quarantine, revoke the likely key, collect, verify, delete, recreate with the old tags, release', async () => {
    const { tailnet, world, deps, playbook } = await setup();
    const outcome = await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-tagged' });
    expect(outcome).toMatchObject({ status: 'completed', exitCode: 0 });

    expect(tailnet.devices.find((d) => d.nodeId === 'nWEB1CNTRL')).toBeUndefined();
    const rebuilt = tailnet.devices.find((d) => d.hostname === 'web-1');
    expect(rebuilt?.tags).toEqual(['tag:web']);
    expect(tailnet.keys.find((k) => k.id === 'kWEB')?.revoked).toBeDefined();
    expect(tailnet.keys.find((k) => k.id === 'kDB')?.revoked).toBeUndefined();
    expect(tailnet.users.every((u) => u.status === 'active')).toBe(true);
    // quarantine then release: the policy is back to what it was
    expect(tailnet.count('setPolicy')).toBe(2);
    expect(tailnet.policy.text).not.toContain('quarantine');
    const minted = tailnet.keys.find((k) => k.description?.startsWith('tailnet-ir rebuild run-tagged'));
    expect(minted?.capabilities?.devices?.create).toMatchObject({ reusable: false, preauthorized: true, tags: ['tag:web'] });
    expect(Date.parse(minted?.expires ?? '') - Date.parse(minted?.created ?? '')).toBeLessThanOrEqual(3600_000);
    expect(world.enroller.sawSecretShape).toEqual([true]);
    expect(world.evidence.collected).toBe(1);
    // the audit log for the window, the policy before/after and the inventory go into the archive
    expect(world.evidence.sealedExtras).toEqual([['audit/configuration-log.json', 'policy/before.hujson', 'policy/quarantine-after.hujson', 'triage/devices.json', 'triage/users.json', 'triage/keys.json']]);
    expect(tailnet.mutations.map((m) => m.method)).toEqual(['setPolicy', 'deleteKey', 'deleteDevice', 'createKey', 'enrol', 'setPolicy']);

    const journalPath = join(deps.store.runDir('run-tagged'), 'journal.jsonl');
    expect(await verifyJournalFile(journalPath)).toMatchObject({ ok: true });
    const journal = readFileSync(journalPath, 'utf8');
    expect(journal).not.toContain('fake-secret-');
    // destructive steps carry journaled approvals
    for (const step of ['revoke-keys', 'delete-device']) expect(journal).toMatch(new RegExp(`"type":"approval","step":"${step}"`));
    expect(journal).toMatch(/"type":"step-skipped","step":"suspend-user"/);
  });

  it('recreate retries a rebuilt host that is not reachable yet, minting a fresh key and revoking the unused one; a refusal is not retried', async () => {
    const { tailnet, world, deps, playbook } = await setup();
    const enrol = world.enroller.enrol.bind(world.enroller);
    let calls = 0;
    world.enroller.enrol = async (r) => {
      if (++calls === 1) throw new EnrolmentFailedError('cannot reach the rebuilt host: connection refused');
      return enrol(r);
    };
    const outcome = await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-retry' });
    expect(outcome).toMatchObject({ status: 'completed' });
    const minted = tailnet.keys.filter((k) => k.description?.startsWith('tailnet-ir rebuild run-retry'));
    expect(minted).toHaveLength(2);
    expect(minted.filter((k) => k.revoked)).toHaveLength(1);
    expect(readFileSync(join(deps.store.runDir('run-retry'), 'journal.jsonl'), 'utf8')).toMatch(/"type":"step-retry","step":"recreate"/);

    const second = await setup();
    second.world.enroller.enrol = async () => {
      throw new EnrolmentRefusedError('still presents the compromised host key');
    };
    const refused = await startRun(second.deps, { playbook: second.playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-refused' });
    expect(refused).toMatchObject({ status: 'paused', step: 'recreate' });
    expect(second.tailnet.keys.filter((k) => k.description?.startsWith('tailnet-ir rebuild run-refused'))).toHaveLength(1);
  });

  it('user-owned device: collects before suspending the owner (tailnet route), deletes, no recreate without tags', async () => {
    const { tailnet, world, deps, playbook } = await setup();
    const outcome = await startRun(deps, { playbook, inputs: { target: '100.64.0.1', responders: ['group:ir'] }, runId: 'run-user' });
    expect(outcome).toMatchObject({ status: 'completed' });
    expect(tailnet.users.find((u) => u.id === 'u-alice')?.status).toBe('suspended');
    expect(tailnet.devices.find((d) => d.nodeId === 'nLAPTOP1CNTRL')).toBeUndefined();
    expect(tailnet.count('deleteKey')).toBe(0);
    expect(tailnet.count('createKey')).toBe(0);
    expect(world.evidence.collected).toBe(1);
    expect(Object.keys(outcome.outputs)).toContain('collect-early');
    expect(Object.keys(outcome.outputs)).not.toContain('collect');
    // collection happened before the suspension
    const order = tailnet.mutations.map((m) => m.method);
    expect(order).toEqual(['setPolicy', 'suspendUser', 'deleteDevice', 'setPolicy']);
    const journal = readFileSync(join(deps.store.runDir('run-user'), 'journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step?: string });
    const idx = (type: string, step: string) => journal.findIndex((e) => e.type === type && e.step === step);
    expect(idx('done', 'collect-early')).toBeLessThan(idx('intent', 'suspend-user'));
    // Why the laptop was not rebuilt is journaled in words, not only as a guard expression.
    const skipped = (journal as { type: string; step?: string; data?: { reason?: string } }[]).find((e) => e.type === 'step-skipped' && e.step === 'recreate');
    expect(skipped?.data?.reason).toMatch(/^A user-owned device is rebuilt only with rebuild tags/);
  });

  it('user-owned device with an out-of-band route collects after the identity step', async () => {
    const { world, deps, playbook } = await setup();
    world.evidence.routePath = 'out-of-band';
    const outcome = await startRun(deps, { playbook, inputs: { target: 'laptop-1', responders: ['group:ir'], rebuild_tags: ['tag:laptop'] }, runId: 'run-oob' });
    expect(outcome.status).toBe('completed');
    expect(Object.keys(outcome.outputs)).toContain('collect');
    expect(Object.keys(outcome.outputs)).not.toContain('collect-early');
    expect(world.tailnet.devices.find((d) => d.hostname === 'laptop-1')?.tags).toEqual(['tag:laptop']);
  });

  it('with manual approvals it pauses (exit 5) at the first gate, and resumes with an approval', async () => {
    const { tailnet, deps, playbook } = await setup(createFlagApprover('none', 'tester'));
    const first = await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-gates' });
    expect(first).toMatchObject({ status: 'paused', step: 'quarantine', exitCode: 5 });
    expect(first.message).toContain('tailnet-ir resume run-gates --approve quarantine');
    expect(tailnet.mutations).toEqual([]);
    expect((await deps.store.readRecord('run-gates')).status).toBe('paused');

    const second = await resumeRun({ ...deps, approver: createFlagApprover('quarantine', 'tester') }, { runId: 'run-gates' });
    expect(second).toMatchObject({ status: 'paused', step: 'revoke-keys' });
    expect(tailnet.mutations.map((m) => m.method)).toEqual(['setPolicy']);

    const third = await resumeRun({ ...deps, approver: createFlagApprover('all', 'tester') }, { runId: 'run-gates' });
    expect(third.status).toBe('completed');
    expect(tailnet.count('setPolicy')).toBe(2);
    expect(tailnet.count('deleteKey', 'kWEB')).toBe(1);
  });

  it('pauses when the archive does not verify (delete stays locked) and continues once it does', async () => {
    const { tailnet, world, deps, playbook } = await setup();
    world.evidence.verifies = false;
    const first = await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-evidence' });
    expect(first).toMatchObject({ status: 'paused', step: 'verify-evidence' });
    expect(tailnet.count('deleteDevice')).toBe(0);

    // The operator re-seals; verification passes on resume and only then is the device deleted.
    world.evidence.verifies = true;
    const second = await resumeRun(deps, { runId: 'run-evidence' });
    expect(second.status).toBe('completed');
    expect(tailnet.count('deleteDevice')).toBe(1);
  });

  it('refuses a quarantine that would cut responders off SSH (policy hook), without changing the policy', async () => {
    const { tailnet, world, deps, playbook } = await setup();
    world.policy.responderAccess = { ok: false, failures: ['group:ir -> web-1:22 would be dropped'] };
    const outcome = await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-ssh' });
    expect(outcome).toMatchObject({ status: 'paused', step: 'quarantine', exitCode: 5 });
    expect(outcome.message).toMatch(/removes responders' inbound SSH/);
    expect(tailnet.count('setPolicy')).toBe(0);
  });

  it('403 on suspend: the run pauses with the API error, nothing lost; resume after the fix suspends once', async () => {
    const { tailnet, deps, playbook } = await setup();
    tailnet.failNext('suspendUser', new FakeApiError('calling user may not suspend this user', 403));
    const first = await startRun(deps, { playbook, inputs: { target: 'laptop-1', responders: ['group:ir'] }, runId: 'run-403' });
    expect(first).toMatchObject({ status: 'paused', step: 'suspend-user', exitCode: 5 });
    expect(first.message).toContain('calling user may not suspend this user');
    expect(tailnet.count('setPolicy')).toBe(1);
    const second = await resumeRun(deps, { runId: 'run-403' });
    expect(second.status).toBe('completed');
    expect(tailnet.count('suspendUser')).toBe(1);
    expect(tailnet.count('setPolicy')).toBe(2);
  });

  it('SSH host unreachable during collection: pauses at collect, resumable', async () => {
    const { tailnet, world, deps, playbook } = await setup();
    world.evidence.failCollect = new Error('ssh: connect to host 100.64.0.2 port 22: No route to host');
    const first = await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-ssh-down' });
    expect(first).toMatchObject({ status: 'paused', step: 'collect' });
    expect(first.message).toContain('No route to host');
    expect(tailnet.count('deleteDevice')).toBe(0);
    const second = await resumeRun(deps, { runId: 'run-ssh-down' });
    expect(second.status).toBe('completed');
    expect(tailnet.mutations.map((m) => m.method)).toEqual(['setPolicy', 'deleteKey', 'deleteDevice', 'createKey', 'enrol', 'setPolicy']);
  });

  it('an unknown target aborts at triage with exit 2, the closest names and no retries', async () => {
    const { tailnet, deps, playbook, clock } = await setup();
    const before = clock.now().getTime();
    const outcome = await startRun(deps, { playbook, inputs: { target: 'web1', responders: ['group:ir'] }, runId: 'run-unknown' });
    expect(outcome).toMatchObject({ status: 'aborted', step: 'triage', exitCode: 2 });
    expect(outcome.message).toMatch(/device not found: "web1".*Did you mean: web-1/);
    expect(clock.now().getTime()).toBe(before);
    expect(tailnet.mutations).toEqual([]);
  });

  it('a snapshot file that cannot be restored does not lose the run: resume rebuilds from the journal', async () => {
    const { tailnet, deps, playbook } = await setup(createFlagApprover('none', 'tester'));
    await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-badsnap' });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(deps.store.runDir('run-badsnap'), 'snapshot.json'), JSON.stringify({ value: 'no-such-state', status: 'active', context: {} }));
    const out = await resumeRun({ ...deps, approver: createFlagApprover('all', 'tester') }, { runId: 'run-badsnap' });
    expect(out.status).toBe('completed');
    expect(tailnet.count('setPolicy')).toBe(2);
  });
});

describe('subnet-router-compromise playbook', () => {
  it('disables the routes after the quarantine and expires the node key after collection', async () => {
    const { tailnet, deps } = await setup();
    const playbook = await findPlaybook('subnet-router-compromise', deps.registry);
    const outcome = await startRun(deps, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] }, runId: 'run-router' });
    expect(outcome.status).toBe('completed');
    expect(tailnet.mutations.map((m) => m.method)).toEqual(['setPolicy', 'setDeviceRoutes', 'deleteKey', 'expireDevice', 'deleteDevice', 'createKey', 'enrol', 'setPolicy']);
    expect(outcome.outputs['disable-routes']).toMatchObject({ disabledRoutes: ['10.0.0.0/24', '0.0.0.0/0', '::/0'] });
  });
});
