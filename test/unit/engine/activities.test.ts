import { describe, expect, it } from 'vitest';
import { SkippingClock } from '../../../src/core/clock.js';
import type { ActivityContext, AnyActivity } from '../../../src/engine/activity.js';
import { tailnetSnapshot } from '../../../src/engine/activities/triage.js';
import { disableRoutes, expireNodeKey, revokeAuthKeys, suspendUser } from '../../../src/engine/activities/identity.js';
import { fetchAuditLogs } from '../../../src/engine/activities/audit-logs.js';
import { deleteDevice, enrolmentKeyDescription, KeyRevocationFailedError, recreateDevice, waitForDevice } from '../../../src/engine/activities/eradicate.js';
import { PlanStaleError } from '../../../src/engine/engine-errors.js';
import { policyVerify } from '../../../src/engine/activities/policy.js';
import { collectEvidence } from '../../../src/engine/activities/evidence.js';
import { createDefaultRegistry } from '../../../src/engine/activities/index.js';
import { findPlaybook } from '../../../src/engine/playbook-catalog.js';
import { planRun } from '../../../src/engine/run-engine.js';
import { FakeTailnet, seedTailnet } from './fakes/fake-tailnet.js';
import { fakeWorld, memoryArtifacts } from './fakes/fake-ports.js';

function harness() {
  const clock = new SkippingClock('2026-03-01T10:00:00Z');
  const tailnet = seedTailnet(new FakeTailnet(clock));
  const world = fakeWorld(tailnet, clock);
  const artifacts = memoryArtifacts();
  // `never` params: assignable to any activity's context (params were parsed by its own schema).
  const ctx = (activity: AnyActivity, params: unknown, outputs: Record<string, unknown> = {}): ActivityContext<never> => ({
    runId: '20260301-100000-abcdef',
    stepId: 'step',
    params: activity.params.parse(params) as never,
    inputs: {},
    outputs,
    ports: { ...world.ports, artifacts },
    signal: new AbortController().signal,
  });
  return { clock, tailnet, world, artifacts, ctx };
}

/** plan → apply → check, as the engine would. */
async function run(activity: AnyActivity, ctx: ActivityContext<unknown>) {
  const plan = await activity.plan(ctx);
  JSON.stringify(plan); // plans must be JSON
  const output = await activity.apply(plan, ctx);
  const check = await activity.check(plan, ctx);
  return { plan, output, check };
}

describe('activities against the fake tailnet', () => {
  it('collect-evidence names the jump host in its plan and collects over exactly the planned route', async () => {
    const h = harness();
    const route = { address: '10.20.0.2', port: 22, user: 'root', path: 'out-of-band' as const, via: 'ops@bastion:2222', jump: { user: 'ops', address: 'bastion', port: 2222 } };
    h.world.evidence.routeFor = async () => route;
    const collected: unknown[] = [];
    const collect = h.world.evidence.collect.bind(h.world.evidence);
    h.world.evidence.collect = async (r) => (collected.push(r.route), collect(r));
    const { plan } = await run(collectEvidence, h.ctx(collectEvidence, { deviceId: 'nWEB1CNTRL' }));
    expect(plan.summary).toEqual(['collect evidence from web-1 over SSH to 10.20.0.2 (out-of-band, via ops@bastion:2222)']);
    expect(collected).toEqual([route]);
    h.world.evidence.routeFor = async () => ({ address: '100.64.0.2', path: 'tailnet' });
    expect((await collectEvidence.plan(h.ctx(collectEvidence, { deviceId: 'nWEB1CNTRL' }))).summary).toEqual([
      'collect evidence from web-1 over SSH to 100.64.0.2 (tailnet, direct)',
    ]);
  });

  it('tailnet-snapshot resolves the target, picks the identity path and snapshots without secrets', async () => {
    const h = harness();
    const { output } = await run(tailnetSnapshot, h.ctx(tailnetSnapshot, { target: '100.64.0.2' }));
    expect(output).toMatchObject({ device: { nodeId: 'nWEB1CNTRL', tags: ['tag:web'] }, identity: { kind: 'tagged', keyIds: ['kWEB'] }, policyEtag: h.tailnet.policy.etag, route: { path: 'tailnet' } });
    expect([...h.artifacts.files.keys()].sort()).toEqual(['policy/before.hujson', 'triage/devices.json', 'triage/keys.json', 'triage/users.json']);
    expect(h.artifacts.files.get('triage/keys.json')).not.toMatch(/"key":/);
    const user = await run(tailnetSnapshot, h.ctx(tailnetSnapshot, { target: 'laptop-1' }));
    expect(user.output).toMatchObject({ identity: { kind: 'user', userId: 'u-alice', loginName: 'alice@example.com' } });
    expect(h.tailnet.mutations).toEqual([]);
  });

  it('suspend-user: plans, suspends, checks; a suspended user plans to nothing', async () => {
    const h = harness();
    const r = await run(suspendUser, h.ctx(suspendUser, { userId: 'u-alice' }));
    expect(r.plan).toMatchObject({ destructive: true, mutations: [{ kind: 'suspend-user', target: 'u-alice' }] });
    expect(r.check.done).toBe(true);
    const again = await suspendUser.plan(h.ctx(suspendUser, { userId: 'u-alice' }));
    expect(again.mutations).toEqual([]);
    expect(h.tailnet.count('suspendUser')).toBe(1);
  });

  it('revoke-auth-keys revokes only valid keys, and a retry does not revoke twice', async () => {
    const h = harness();
    await h.tailnet.deleteKey('kDB');
    const ctx = h.ctx(revokeAuthKeys, { keyIds: ['kWEB', 'kDB'] });
    const plan = await revokeAuthKeys.plan(ctx);
    expect(plan.data).toEqual({ keyIds: ['kWEB'] });
    expect(plan.summary.join('\n')).toContain('kDB is already revoked');
    await revokeAuthKeys.apply(plan, ctx);
    await revokeAuthKeys.apply(plan, ctx);
    expect(h.tailnet.count('deleteKey', 'kWEB')).toBe(1);
    expect((await revokeAuthKeys.check(plan, ctx)).done).toBe(true);
    expect((await revokeAuthKeys.plan(h.ctx(revokeAuthKeys, { keyIds: [] }))).warnings[0]).toMatch(/no candidate key was ranked likely/);
  });

  it('revoke-auth-keys shows the ranking evidence and names possible keys it leaves alone', async () => {
    const h = harness();
    const triage = (await run(tailnetSnapshot, h.ctx(tailnetSnapshot, { target: 'web-1' }))).output as { identity: { candidates: { keyId: string; verdict: string; score: number }[] } };
    triage.identity.candidates.push({ ...(triage.identity.candidates[0] as { keyId: string; verdict: string; score: number }), keyId: 'kMAYBE', verdict: 'possible', score: 30 });
    const plan = await revokeAuthKeys.plan(h.ctx(revokeAuthKeys, { keyIds: ['kWEB'] }, { triage }));
    expect(plan.summary[1]).toMatch(/ranked likely \(score \d+\): tags match - key tags equal the device tags/);
    expect(plan.warnings).toEqual([expect.stringMatching(/not revoked, but possible: kMAYBE \(score 30\)/)]);
  });

  it('expire-node-key and disable-routes (exit node included)', async () => {
    const h = harness();
    const e = await run(expireNodeKey, h.ctx(expireNodeKey, { deviceId: 'nWEB1CNTRL' }));
    expect(e.check.done).toBe(true);
    const r = await run(disableRoutes, h.ctx(disableRoutes, { deviceId: 'nWEB1CNTRL' }));
    expect(r.plan.summary[0]).toMatch(/disable 3 route\(s\).*stops being an exit node/);
    expect(r.check.done).toBe(true);
    expect((await h.tailnet.getDeviceRoutes('nWEB1CNTRL')).enabledRoutes).toEqual([]);
    expect((await disableRoutes.plan(h.ctx(disableRoutes, { deviceId: 'nWEB1CNTRL' }))).mutations).toEqual([]);
  });

  it('fetch-audit-logs saves the window ending now', async () => {
    const h = harness();
    const { output } = await run(fetchAuditLogs, h.ctx(fetchAuditLogs, { lookback: '24h' }));
    expect(output).toMatchObject({ start: '2026-02-28T10:00:00.000Z', end: '2026-03-01T10:00:00.000Z', events: 0 });
    expect(h.artifacts.files.has('audit/configuration-log.json')).toBe(true);
  });

  it('delete-device deletes once; a gone device plans to nothing', async () => {
    const h = harness();
    const r = await run(deleteDevice, h.ctx(deleteDevice, { deviceId: 'nWEB1CNTRL' }));
    expect(r.check.done).toBe(true);
    expect((await deleteDevice.plan(h.ctx(deleteDevice, { deviceId: 'nWEB1CNTRL' }))).mutations).toEqual([]);
  });

  it('recreate-device mints a one-off pre-authorized tagged key ≤ 1 h, hands it over, never returns it', async () => {
    const h = harness();
    const r = await run(recreateDevice, h.ctx(recreateDevice, { deviceId: 'nWEB1CNTRL', tags: ['tag:web'] }));
    expect(JSON.stringify(r.output)).not.toContain('fake-secret-');
    expect(JSON.stringify(r.plan)).not.toContain('fake-secret-');
    const key = h.tailnet.keys.find((k) => k.description === enrolmentKeyDescription('20260301-100000-abcdef'));
    expect(key?.capabilities?.devices?.create).toEqual({ reusable: false, ephemeral: false, preauthorized: true, tags: ['tag:web'] });
    expect(Date.parse(key?.expires ?? '') - Date.parse(key?.created ?? '')).toBe(3600_000);
    expect(h.world.enroller.enrolments).toBe(1);
    expect(r.check.done).toBe(true);
    await expect(recreateDevice.plan(h.ctx(recreateDevice, { deviceId: 'nWEB1CNTRL', tags: ['tag:web'], expiry: '2h' }))).rejects.toThrow(/between 1m and 1h/);
    expect(() => recreateDevice.params.parse({ deviceId: 'x', tags: [] })).toThrow(/must be tagged/);
  });

  it('recreate-device revokes the minted key at once when the hand-over fails', async () => {
    const h = harness();
    h.world.enroller.enrol = async () => {
      throw new Error('host refused');
    };
    const ctx = h.ctx(recreateDevice, { deviceId: 'nWEB1CNTRL', tags: ['tag:web'] });
    const plan = await recreateDevice.plan(ctx);
    await expect(recreateDevice.apply(plan, ctx)).rejects.toThrow('host refused');
    const key = h.tailnet.keys.find((k) => k.description === enrolmentKeyDescription('20260301-100000-abcdef'));
    expect(key?.revoked ?? key?.invalid).toBeTruthy();
  });

  it('recreate-device refuses to hand over with settings other than the approved ones (a stale plan), before minting', async () => {
    const h = harness();
    const ctx = h.ctx(recreateDevice, { deviceId: 'nWEB1CNTRL', tags: ['tag:web'] });
    const plan = await recreateDevice.plan(ctx);
    expect(plan.data.handover).toEqual(['fake hand-over']);
    // The configuration changed between approval and apply (e.g. a resume days later).
    h.world.enroller.describe = async () => ({ method: 'ssh', summary: ['over SSH to root@198.51.100.9:22'], warnings: [] });
    await expect(recreateDevice.apply(plan, ctx)).rejects.toBeInstanceOf(PlanStaleError);
    expect(h.tailnet.keys.filter((k) => k.description?.startsWith('tailnet-ir rebuild'))).toEqual([]);
  });

  it('recreate-device refuses a blocked hand-over before minting anything', async () => {
    const h = harness();
    h.world.enroller.describe = async () => ({ method: 'manual', summary: ['fake hand-over'], warnings: [], blocked: 'no terminal' });
    const ctx = h.ctx(recreateDevice, { deviceId: 'nWEB1CNTRL', tags: ['tag:web'] });
    const plan = await recreateDevice.plan(ctx);
    expect(plan.warnings.join(' ')).toContain('would be refused now: no terminal');
    await expect(recreateDevice.apply(plan, ctx)).rejects.toThrow(/no key was minted: no terminal/);
    expect(h.tailnet.keys.filter((k) => k.description?.startsWith('tailnet-ir rebuild'))).toEqual([]);
  });

  it("recreate-device says so when the failed hand-over's key could not be revoked either", async () => {
    const h = harness();
    h.world.enroller.enrol = async () => {
      throw new Error('host refused');
    };
    h.tailnet.deleteKey = async () => {
      throw new Error('503 service unavailable');
    };
    const ctx = h.ctx(recreateDevice, { deviceId: 'nWEB1CNTRL', tags: ['tag:web'] });
    const plan = await recreateDevice.plan(ctx);
    const err = (await recreateDevice.apply(plan, ctx).catch((e: unknown) => e)) as KeyRevocationFailedError;
    expect(err).toBeInstanceOf(KeyRevocationFailedError);
    const minted = h.tailnet.keys.find((k) => k.description?.startsWith('tailnet-ir rebuild'))!;
    expect(err.message).toContain(`the hand-over failed (host refused) and the minted key ${minted.id} could not be revoked (503 service unavailable)`);
    expect(err.hint).toContain(`Revoke key ${minted.id} in the admin console`);
  });

  it('enrolment key descriptions fit the API (≤ 50 chars, letters, digits, hyphens, spaces)', () => {
    const d = enrolmentKeyDescription('20260301-100000-abcdef');
    expect(d).toBe('tailnet-ir rebuild 20260301-100000-abcdef');
    expect(enrolmentKeyDescription('x'.repeat(80)).length).toBeLessThanOrEqual(50);
    expect(enrolmentKeyDescription('a_b.c')).toMatch(/^[A-Za-z0-9 -]+$/);
  });

  it('wait-for-device polls on the injected clock until the new node appears', async () => {
    const h = harness();
    let polls = 0;
    const list = h.tailnet.listDevices.bind(h.tailnet);
    h.tailnet.listDevices = async () => {
      if (++polls === 4) h.tailnet.devices.push({ id: '50', nodeId: 'nNEW', addresses: ['100.64.0.50'], name: 'web-1-1.ts.net', hostname: 'web-1', user: 'tagged-devices', tags: ['tag:web'], created: h.clock.now().toISOString() });
      return list();
    };
    const before = h.clock.now().getTime();
    const { output } = await run(waitForDevice, h.ctx(waitForDevice, { hostname: 'web-1', tags: ['tag:web'], replaces: 'nWEB1CNTRL', interval: '10s' }));
    expect(output).toMatchObject({ device: { nodeId: 'nNEW' }, attempts: 4 });
    expect(h.clock.now().getTime() - before).toBe(30_000);
  });

  it('wait-for-device gives up after its timeout with a clear error (bounded)', async () => {
    const h = harness();
    const ctx = h.ctx(waitForDevice, { hostname: 'ghost', replaces: 'nWEB1CNTRL', timeout: '1m', interval: '10s' });
    await expect(waitForDevice.apply(await waitForDevice.plan(ctx), ctx)).rejects.toThrow(/ghost did not join within 1m \(7 polls\)/);
    // Giving up names the key that is still valid, so an abandoned rebuild does not leave it forgotten.
    const withKey = h.ctx(waitForDevice, { hostname: 'ghost', replaces: 'nWEB1CNTRL', keyId: 'kREBUILD1', timeout: '1m', interval: '10s' });
    await expect(waitForDevice.apply(await waitForDevice.plan(withKey), withKey)).rejects.toThrow(/one-off key kREBUILD1 stays valid .* revoke it in the admin console if you abandon this rebuild/);
  });

  it('policy-verify fails on failing server tests and on disagreement with the local evaluator', async () => {
    const h = harness();
    const ctx = h.ctx(policyVerify, {});
    const plan = await policyVerify.plan(ctx);
    await expect(policyVerify.apply(plan, ctx)).resolves.toMatchObject({ ok: true });
    h.world.policy.localCheck = { ok: false, failures: ['x'] };
    await expect(policyVerify.apply(plan, ctx)).rejects.toThrow(/disagree: server passes, local fails/);
    h.tailnet.validatePolicy = async () => ({ message: 'test(s) failed', data: [{ user: 'tag:web', errors: ['address "db:5432": want: Drop, got: Accept'] }] });
    h.world.policy.localCheck = { ok: false, failures: ['tag:web -> db:5432 accepted'] };
    await expect(policyVerify.apply(plan, ctx)).rejects.toThrow(/policy tests fail: tag:web: address "db:5432"/);
  });
});

describe('planRun', () => {
  it('plans node-compromise without a single mutation, and says which steps need approval or earlier results', async () => {
    const h = harness();
    const registry = createDefaultRegistry();
    const playbook = await findPlaybook('node-compromise', registry);
    const steps = await planRun({ registry, ports: h.world.ports }, { playbook, inputs: { target: 'web-1', responders: ['group:ir'] } });
    expect(h.tailnet.mutations).toEqual([]);
    const by = Object.fromEntries(steps.map((s) => [s.stepId, s]));
    expect(by.triage).toMatchObject({ status: 'planned' });
    expect(by.quarantine).toMatchObject({ status: 'planned', approval: 'required' });
    expect(by['revoke-keys']).toMatchObject({ status: 'planned', approval: 'required', plan: { data: { keyIds: ['kWEB'] } } });
    expect(by['suspend-user']).toMatchObject({ status: 'skipped' });
    expect(by['delete-device']).toMatchObject({ status: 'planned', approval: 'required' });
    expect(by.seal).toMatchObject({ status: 'depends' });
  });

  it('a user-owned device on the tailnet path: the dry run sees collection planned before the suspension, so it does not warn', async () => {
    const h = harness();
    const registry = createDefaultRegistry();
    const playbook = await findPlaybook('node-compromise', registry);
    const steps = await planRun({ registry, ports: h.world.ports }, { playbook, inputs: { target: '100.64.0.1', responders: ['group:ir'] } });
    const by = Object.fromEntries(steps.map((s) => [s.stepId, s]));
    expect(by['collect-early']).toMatchObject({ status: 'planned' });
    expect(by['suspend-user']).toMatchObject({ status: 'planned' });
    expect(by['suspend-user']!.plan?.warnings).toEqual([]);
  });
});

describe('reaching the node', () => {
  it('suspend-user warns in its plan when collection still depends on the tailnet path', async () => {
    const h = harness();
    const triage = { route: { address: '100.64.0.1', path: 'tailnet' } };
    const before = await suspendUser.plan(h.ctx(suspendUser, { userId: 'u-alice' }, { triage }));
    expect(before.warnings[0]).toMatch(/evidence has not been collected yet.*takes the node off the tailnet/);
    const after = await suspendUser.plan(h.ctx(suspendUser, { userId: 'u-alice' }, { triage, collect: { archivePath: '/e.tar' } }));
    expect(after.warnings).toEqual([]);
    const oob = await suspendUser.plan(h.ctx(suspendUser, { userId: 'u-alice' }, { triage: { route: { address: '10.9.9.9', path: 'out-of-band' } } }));
    expect(oob.warnings).toEqual([]);
  });
});

describe('plan mode guard', () => {
  it('the read-only tailnet refuses every mutating call and passes reads through', async () => {
    const { readOnlyTailnet } = await import('../../../src/engine/read-only-tailnet.js');
    const h = harness();
    const ro = readOnlyTailnet(h.tailnet);
    await expect(ro.suspendUser('u-alice')).rejects.toThrow(/plan mode: refused to call suspendUser/);
    await expect(ro.setPolicy('{}')).rejects.toThrow(/refused/);
    expect((await ro.listDevices()).length).toBe(3);
    expect(h.tailnet.mutations).toEqual([]);
  });
});
