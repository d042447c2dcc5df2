/**
 * The quarantine activity with the real policy engine (through its adapter) against the
 * simulated tailnet over HTTP: staged writes (prepare → retag → pin) are applied in order, and
 * a run that died between two of them continues without repeating a write.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkippingClock } from '../../../src/core/clock.js';
import type { ActivityContext, AnyActivity } from '../../../src/engine/activity.js';
import { policyQuarantine, releaseQuarantine } from '../../../src/engine/activities/policy.js';
import type { Ports } from '../../../src/engine/ports.js';
import type { RunningSim } from '../../../src/drill/sim/sim-server.js';
import { createPolicyPlanner } from '../../../src/tailnet/policy-planner-adapter.js';
import type { TailscaleClient } from '../../../src/tailnet/tailscale-client.js';
import { memoryArtifacts } from '../../unit/engine/fakes/fake-ports.js';
import { clientFor, startDefaultSim } from '../../support/sim.js';

let sim: RunningSim;
let api: TailscaleClient;
beforeEach(async () => {
  sim = await startDefaultSim();
  api = clientFor(sim);
});
afterEach(async () => sim.close());

const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used by this test')) });

function ctx(activity: AnyActivity, params: unknown): ActivityContext<never> {
  const ports = {
    tailnet: api,
    policy: createPolicyPlanner(),
    evidence: unused,
    enroller: unused,
    clock: new SkippingClock(),
    artifacts: memoryArtifacts(),
    progress: () => undefined,
  } as unknown as Ports;
  return { runId: 'run-staged-1', stepId: 'quarantine', params: activity.params.parse(params) as never, inputs: {}, outputs: {}, ports, signal: new AbortController().signal };
}

async function web2() {
  return (await api.listDevices()).find((d) => d.hostname === 'web-2')!;
}

function policyWrites(): number {
  return sim.tailnet.auditLog({ event: ['UPDATE'] }).filter((e) => e.target.property === 'ACL').length;
}

describe('policy-quarantine with the policy engine and the simulated tailnet', () => {
  it('applies prepare, retag and pin in order; check confirms; release restores the original text', async () => {
    const original = (await api.getPolicy()).text;
    const device = await web2();
    const c = ctx(policyQuarantine, { deviceId: device.nodeId, responders: ['group:incident-response'], highRiskResources: ['prod-db:5432'] });
    const plan = await policyQuarantine.plan(c);
    expect(plan.mutations.map((m) => m.kind)).toEqual(['set-policy', 'set-device-tags', 'set-policy']);
    await policyQuarantine.apply(plan, c);
    expect(policyWrites()).toBe(2);
    expect((await api.getDevice(device.nodeId)).tags).toEqual(['tag:quarantine-run-staged-1']);
    expect((await policyQuarantine.check(plan, c)).done).toBe(true);
    // The server's own tests (the pinning ones included) pass on the saved policy.
    expect(await api.validatePolicy((await api.getPolicy()).text)).toEqual({});

    const r = ctx(releaseQuarantine, { releaseRecord: (plan.data as { releaseRecord: unknown }).releaseRecord, nodeId: device.nodeId });
    const releasePlan = await releaseQuarantine.plan(r);
    await releaseQuarantine.apply(releasePlan, r);
    expect((await api.getPolicy()).text).toBe(original);
    expect((await api.getDevice(device.nodeId)).tags).toEqual(['tag:web']);
  });

  it('resumes after a crash between the retag and the final write without repeating a write', async () => {
    const device = await web2();
    const c = ctx(policyQuarantine, { deviceId: device.nodeId, responders: ['group:incident-response'], highRiskResources: [] });
    const plan = await policyQuarantine.plan(c);
    const steps = (plan.data as { steps: Array<{ kind: string; text?: string; nodeId?: string; tags?: string[] }> }).steps;
    // The first process got this far: prepare written, device retagged, then it died.
    const before = await api.getPolicy();
    await api.setPolicy(steps[0]!.text!, { ifMatch: before.etag });
    await api.setDeviceTags(steps[1]!.nodeId!, steps[1]!.tags!);
    expect((await policyQuarantine.check(plan, c)).done).toBe(false);
    await policyQuarantine.apply(plan, c);
    expect(policyWrites()).toBe(2);
    expect((await policyQuarantine.check(plan, c)).done).toBe(true);
  });

  it('re-plans (PlanStale) when someone else edited the policy after the plan', async () => {
    const device = await web2();
    const c = ctx(policyQuarantine, { deviceId: device.nodeId, responders: ['group:incident-response'], highRiskResources: [] });
    const plan = await policyQuarantine.plan(c);
    const current = await api.getPolicy();
    await api.setPolicy(`${current.text}// an unrelated edit\n`, { ifMatch: current.etag });
    await expect(policyQuarantine.apply(plan, c)).rejects.toMatchObject({ name: 'PlanStaleError' });
    expect((await api.getDevice(device.nodeId)).tags).toEqual(['tag:web']);
  });
});
