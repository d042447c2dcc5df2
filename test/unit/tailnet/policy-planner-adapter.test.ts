import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/core/errors.js';
import { policyEngineChecker } from '../../../src/drill/sim/policy-checker.js';
import { loadScenario } from '../../../src/drill/sim/scenario.js';
import { SimTailnet, type SimActor } from '../../../src/drill/sim/sim-tailnet.js';
import { createPolicyPlanner, type StagedPolicyEditPlan } from '../../../src/tailnet/policy-planner-adapter.js';

const actor: SimActor = { id: 'u100001', type: 'USER', loginName: 'alice@example.com' };

async function tailnet() {
  return new SimTailnet(await loadScenario(), { checker: policyEngineChecker });
}

/** Apply the plan's steps the way the engine does, against the simulated tailnet's rules. */
function applySteps(sim: SimTailnet, plan: StagedPolicyEditPlan): void {
  for (const step of plan.steps) {
    if (step.kind === 'set-policy') sim.setPolicy(step.text, sim.policy().etag, actor);
    else sim.setTags(step.nodeId, step.tags, actor);
  }
}

describe('policy planner adapter', () => {
  it('plans a staged quarantine the simulated control server accepts, and a byte-exact release', async () => {
    const sim = await tailnet();
    const planner = createPolicyPlanner();
    const original = sim.policy().text;
    const { devices, users } = sim.inventory();
    const bob = devices.find((d) => d.hostname === 'bob-laptop')!;
    const plan = (await planner.planQuarantine({
      runId: 'run-1',
      policyText: original,
      device: bob,
      devices,
      users,
      responders: ['group:incident-response'],
      highRiskResources: ['tag:db:5432'],
    })) as StagedPolicyEditPlan;
    expect(plan.steps.map((s) => s.kind)).toEqual(['set-policy', 'set-device-tags', 'set-policy']);
    expect(plan.steps.at(-1)).toMatchObject({ kind: 'set-policy', text: plan.newText });
    expect(plan.addedTests.length).toBeGreaterThan(0);
    applySteps(sim, plan);
    expect(sim.policy().text).toBe(plan.newText);

    const after = sim.inventory();
    const bobAfter = after.devices.find((d) => d.nodeId === bob.nodeId)!;
    expect(bobAfter.tags).toEqual(plan.deviceTagsAfter[bob.nodeId]);
    expect(await planner.checkPolicy(sim.policy().text, after.devices, after.users)).toEqual({ ok: true, failures: [] });
    expect((await planner.checkResponderAccess(plan.newText, bobAfter, ['group:incident-response'], after.devices, after.users)).ok).toBe(true);
    // dave is no responder: the check must say so, naming him.
    const dave = await planner.checkResponderAccess(plan.newText, bobAfter, ['dave@example.com'], after.devices, after.users);
    expect(dave.ok).toBe(false);
    expect(dave.failures[0]).toContain('dave@example.com');

    const release = (await planner.planRelease({ runId: 'run-1', policyText: sim.policy().text, releaseRecord: plan.releaseRecord, devices: after.devices })) as StagedPolicyEditPlan;
    // bob's laptop was user-owned: the API cannot untag it, so release only edits the policy
    // and says what to do with the device.
    expect(release.steps.map((s) => s.kind)).toEqual(['set-policy']);
    expect(release.summary.join('\n')).toContain('re-authenticate it');
  });

  it('releases a tagged device: old tags back first, then the policy byte for byte', async () => {
    const sim = await tailnet();
    const planner = createPolicyPlanner();
    const original = sim.policy().text;
    const { devices, users } = sim.inventory();
    const web2 = devices.find((d) => d.hostname === 'web-2')!;
    const plan = (await planner.planQuarantine({ runId: 'run-9', policyText: original, device: web2, devices, users, responders: ['group:incident-response'], highRiskResources: ['prod-db:5432'] })) as StagedPolicyEditPlan;
    applySteps(sim, plan);
    expect(sim.getDevice(web2.nodeId, false).tags).toEqual(plan.deviceTagsAfter[web2.nodeId]);
    const release = (await planner.planRelease({ runId: 'run-9', policyText: sim.policy().text, releaseRecord: plan.releaseRecord, devices: sim.listDevices(true) })) as StagedPolicyEditPlan;
    expect(release.steps.map((s) => s.kind)).toEqual(['set-device-tags', 'set-policy']);
    applySteps(sim, release);
    expect(sim.policy().text).toBe(original);
    expect(sim.getDevice(web2.nodeId, false).tags).toEqual(['tag:web']);
  });

  it('keeps SSH for every responder selector it is given, each pinned by a test', async () => {
    const sim = await tailnet();
    const planner = createPolicyPlanner();
    const { devices, users } = sim.inventory();
    const bob = devices.find((d) => d.hostname === 'bob-laptop')!;
    const responders = ['group:incident-response', 'alice@example.com'];
    const plan = (await planner.planQuarantine({ runId: 'run-2', policyText: sim.policy().text, device: bob, devices, users, responders, highRiskResources: ['tag:db:5432'] })) as StagedPolicyEditPlan;
    expect(plan.addedTests.filter((t) => t.accept)).toEqual(responders.map((src) => ({ src, accept: ['tag:quarantine-run-2:22'] })));
    applySteps(sim, plan);
    const after = sim.inventory();
    const bobAfter = after.devices.find((d) => d.nodeId === bob.nodeId)!;
    // Both keep SSH (carol through the group, alice by name); dave, no responder, does not get it.
    expect(await planner.checkResponderAccess(sim.policy().text, bobAfter, responders, after.devices, after.users)).toEqual({ ok: true, failures: [] });
    expect((await planner.checkResponderAccess(sim.policy().text, bobAfter, ['dave@example.com'], after.devices, after.users)).ok).toBe(false);
  });

  it('releases after the target was deleted: the parked test stays out and the control server accepts the write', async () => {
    const sim = await tailnet();
    const planner = createPolicyPlanner();
    const original = sim.policy().text;
    const { devices, users } = sim.inventory();
    const bob = devices.find((d) => d.hostname === 'bob-laptop')!;
    const plan = (await planner.planQuarantine({ runId: 'run-5', policyText: original, device: bob, devices, users, responders: ['group:incident-response'], highRiskResources: ['tag:db:5432'] })) as StagedPolicyEditPlan;
    applySteps(sim, plan);
    // The playbook deletes the node before lifting the quarantine.
    sim.deleteDevice(bob.nodeId, actor);
    const now = sim.inventory();
    const release = (await planner.planRelease({ runId: 'run-5', policyText: sim.policy().text, releaseRecord: plan.releaseRecord, devices: now.devices, users: now.users })) as StagedPolicyEditPlan;
    expect(release.steps.map((s) => s.kind)).toEqual(['set-policy']);
    // The simulated control server runs the tests on the write, as Tailscale does: this must not throw.
    applySteps(sim, release);
    const summary = release.summary.join('\n');
    expect(summary).toContain('parked test stays out');
    expect(summary).toContain('{"src": "bob@example.com", "accept": ["tag:web:443", "tag:db:5432"], "deny": ["tag:web:22"]}');
    expect(summary).toContain('tailnet-ir policy release --run run-5');
    const text = sim.policy().text;
    expect(text).not.toContain('tag:quarantine-run-5"');
    // Everything but bob's test is back as it was.
    expect(text.replace(/\/\* tailnet-ir quarantine run-5 #\d+\/\d+ (begin|end)[^*]*(?:\*(?!\/)[^*]*)*\*\//g, '')).toBe(
      original.replace(/\n\s*\{"src": "bob@example\.com"[^\n]*,/, '\n    '),
    );
  });

  it('turns a release that would fail the policy tests into a conflict error, changing nothing', async () => {
    const sim = await tailnet();
    const planner = createPolicyPlanner();
    const { devices, users } = sim.inventory();
    const bob = devices.find((d) => d.hostname === 'bob-laptop')!;
    const plan = (await planner.planQuarantine({ runId: 'run-6', policyText: sim.policy().text, device: bob, devices, users, responders: ['group:incident-response'], highRiskResources: [] })) as StagedPolicyEditPlan;
    applySteps(sim, plan);
    // Someone deleted the whole web tier meanwhile: the never-parked tag:web test cannot pass.
    const rest = sim.inventory().devices.filter((d) => !(d.tags ?? []).includes('tag:web'));
    const err = await planner
      .planRelease({ runId: 'run-6', policyText: sim.policy().text, releaseRecord: plan.releaseRecord, devices: rest, users })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toMatch(/would fail its own tests/);
  });

  it('turns a refused plan into a conflict error that explains why', async () => {
    const sim = await tailnet();
    const { devices, users } = sim.inventory();
    const err = await createPolicyPlanner()
      .planQuarantine({ runId: 'run-3', policyText: sim.policy().text, device: devices[1]!, devices, users, responders: ['group:nobody'], highRiskResources: [] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as Error).message).toContain('group:nobody');
  });
});
