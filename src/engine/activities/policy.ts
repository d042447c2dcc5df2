import { z } from 'zod';
import { defineActivity } from '../activity.js';
import type { Plan } from '../../core/plan.js';
import { CheckFailedError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import { PlanStaleError, isPreconditionFailed } from '../engine-errors.js';
import type { PolicyEditPlan, TailnetApi } from '../ports.js';

/** Plan data of every policy edit: what the engine's responder-SSH invariant inspects. */
export interface PolicyEditData {
  [k: string]: JsonValue;
  etag: string;
  newText: string;
  diff: string;
  nodeId: string;
  responders: string[];
  releaseRecord: JsonValue;
  /** Ordered writes (policy texts, device retags) that take the tailnet to `newText`. */
  steps: PolicyStep[];
  /** Tags each device ends with (the responder-SSH invariant evaluates the policy with them). */
  deviceTagsAfter: { [nodeId: string]: string[] };
}

type PolicyStep =
  | { [k: string]: JsonValue; kind: 'set-policy'; description: string; text: string }
  | { [k: string]: JsonValue; kind: 'set-device-tags'; nodeId: string; device: string; tags: string[]; previousTags: string[] };

/** A plan from the port; the staged fields are optional so a single-write planner also fits. */
type PortPlan = PolicyEditPlan & { steps?: PolicyStep[]; deviceTagsAfter?: Record<string, string[]> };

function editPlan(action: string, stepId: string, etag: string, nodeId: string, responders: string[], edit: PortPlan, currentText: string): Plan<PolicyEditData> {
  const steps: PolicyStep[] = edit.steps ?? [{ kind: 'set-policy', description: 'write the edited policy', text: edit.newText }];
  const unchanged = edit.newText === currentText && steps.every((s) => s.kind === 'set-policy');
  return {
    action,
    stepId,
    summary: unchanged ? ['the policy already has this edit: nothing to do'] : [...edit.summary, ...edit.diff.split('\n')],
    mutations: unchanged
      ? []
      : steps.map((s) =>
          s.kind === 'set-policy'
            ? { kind: 'set-policy', target: 'policy', detail: `POST /acl with If-Match: ${s.description}` }
            : { kind: 'set-device-tags', target: s.nodeId, detail: `tags of ${s.device}: [${s.previousTags.join(', ')}] → [${s.tags.join(', ')}]` },
        ),
    destructive: false,
    warnings: [],
    data: { etag, newText: edit.newText, diff: edit.diff, nodeId, responders, releaseRecord: edit.releaseRecord, steps: unchanged ? [] : steps, deviceTagsAfter: edit.deviceTagsAfter ?? {} },
    // After a 412 only the ETag may differ; the same edit needs no second approval.
    volatile: ['etag'],
  };
}

type PolicyWriter = Pick<TailnetApi, 'getPolicy' | 'setPolicy' | 'getDevice' | 'setDeviceTags'>;

/**
 * Apply the plan's steps in order, each only if it is not already in place, so a run resumed
 * after a crash between two steps continues where it stopped. A policy write uses If-Match on
 * the text this plan produced or started from; any other text means someone else edited the
 * policy meanwhile, and the step is re-planned.
 */
async function applyEdit(plan: Plan<PolicyEditData>, tailnet: PolicyWriter): Promise<string> {
  let current = await tailnet.getPolicy();
  const policyTexts = plan.data.steps.filter((s) => s.kind === 'set-policy').map((s) => s.text as string);
  const stale = () =>
    new PlanStaleError('the policy file changed since this edit was planned', { hint: 'the engine re-reads and re-plans' });
  // The text before each write: the original (known by its ETag), then each earlier write.
  let expectedBefore: string | undefined;
  for (const step of plan.data.steps) {
    if (step.kind === 'set-device-tags') {
      const device = await tailnet.getDevice(step.nodeId);
      if (!sameSet(device.tags ?? [], step.tags)) await tailnet.setDeviceTags(step.nodeId, step.tags);
      continue;
    }
    const laterOrThis = policyTexts.slice(policyTexts.indexOf(step.text));
    if (laterOrThis.includes(current.text)) {
      expectedBefore = step.text;
      continue; // already written (by an earlier attempt of this same plan)
    }
    const fromOriginal = expectedBefore === undefined && current.etag === plan.data.etag;
    if (!fromOriginal && current.text !== expectedBefore) throw stale();
    try {
      // Keep the text we sent: the server may echo it reformatted, but its ETag is what counts.
      current = { text: step.text, etag: (await tailnet.setPolicy(step.text, { ifMatch: current.etag })).etag };
    } catch (e) {
      if (isPreconditionFailed(e)) throw new PlanStaleError('the policy file changed since this edit was planned (412)', { cause: e, hint: 'the engine re-reads and re-plans' });
      throw e;
    }
    expectedBefore = step.text;
  }
  return current.etag;
}

/** Done when the policy holds the final text and every retag is in place. */
async function editInPlace(plan: Plan<PolicyEditData>, tailnet: PolicyWriter): Promise<{ done: boolean; etag: string; detail: string }> {
  const current = await tailnet.getPolicy();
  if (current.text !== plan.data.newText) return { done: false, etag: current.etag, detail: 'policy differs from the planned edit' };
  for (const step of plan.data.steps) {
    if (step.kind !== 'set-device-tags') continue;
    const device = await tailnet.getDevice(step.nodeId).catch(() => undefined);
    if (device && !sameSet(device.tags ?? [], step.tags)) return { done: false, etag: current.etag, detail: `${step.device} does not carry [${step.tags.join(', ')}] yet` };
  }
  return { done: true, etag: current.etag, detail: 'policy and device tags hold the planned edit' };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

const quarantineParams = z
  .object({
    deviceId: z.string().min(1),
    responders: z.array(z.string().min(1)).min(1, 'name at least one responder who keeps SSH to the node'),
    highRiskResources: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** Quarantine the node by editing the policy (planned by the policy engine), with If-Match. */
export const policyQuarantine = defineActivity({
  name: 'policy-quarantine',
  summary: 'Edit the policy so the node can open no connections; responders keep SSH (If-Match)',
  mutates: true,
  destructive: false,
  checksResponderAccess: true,
  params: quarantineParams,
  async plan(ctx) {
    const { tailnet, policy } = ctx.ports;
    const [current, devices, users] = await Promise.all([tailnet.getPolicy(), tailnet.listDevices({ all: true }), tailnet.listUsers({ type: 'all' })]);
    const device = devices.find((d) => d.nodeId === ctx.params.deviceId || d.id === ctx.params.deviceId);
    if (!device) throw new Error(`device ${ctx.params.deviceId} is no longer in the tailnet; nothing to quarantine`);
    const edit = await policy.planQuarantine({
      runId: ctx.runId,
      policyText: current.text,
      device,
      devices,
      users,
      responders: ctx.params.responders,
      highRiskResources: ctx.params.highRiskResources,
    });
    return editPlan(this.name, ctx.stepId, current.etag, device.nodeId, ctx.params.responders, edit, current.text);
  },
  async apply(plan, ctx) {
    const etag = plan.data.steps.length ? await applyEdit(plan, ctx.ports.tailnet) : plan.data.etag;
    await ctx.ports.artifacts.write('policy/quarantine-after.hujson', plan.data.newText);
    return { etag, releaseRecord: plan.data.releaseRecord, nodeId: plan.data.nodeId };
  },
  async check(plan, ctx) {
    const r = await editInPlace(plan, ctx.ports.tailnet);
    return r.done ? { done: true, output: { etag: r.etag, releaseRecord: plan.data.releaseRecord, nodeId: plan.data.nodeId }, detail: r.detail } : { done: false, detail: r.detail };
  },
});

/** Lift exactly the edits a quarantine made (planned by the policy engine from its record). */
export const releaseQuarantine = defineActivity({
  name: 'release-quarantine',
  summary: 'Lift the quarantine edits that named the old node (If-Match)',
  mutates: true,
  destructive: false,
  params: z.object({ releaseRecord: z.unknown(), nodeId: z.string().min(1) }).strict(),
  async plan(ctx) {
    const { tailnet, policy } = ctx.ports;
    const [current, devices, users] = await Promise.all([tailnet.getPolicy(), tailnet.listDevices({ all: true }), tailnet.listUsers({ type: 'all' })]);
    const edit = await policy.planRelease({ runId: ctx.runId, policyText: current.text, releaseRecord: (ctx.params.releaseRecord ?? null) as JsonValue, devices, users });
    // Lifting a quarantine is not a quarantine: the responder-SSH invariant does not apply.
    return editPlan(this.name, ctx.stepId, current.etag, ctx.params.nodeId, [], edit, current.text);
  },
  async apply(plan, ctx) {
    const etag = plan.data.steps.length ? await applyEdit(plan, ctx.ports.tailnet) : plan.data.etag;
    await ctx.ports.artifacts.write('policy/release-after.hujson', plan.data.newText);
    return { etag, released: true };
  },
  async check(plan, ctx) {
    const r = await editInPlace(plan, ctx.ports.tailnet);
    return r.done ? { done: true, output: { etag: r.etag, released: true }, detail: r.detail } : { done: false, detail: r.detail };
  },
});

/**
 * Verify the saved policy: the control server's test run (`/acl/validate`) and the local
 * evaluator must both pass — and agree. Disagreement means one of them is wrong: stop.
 */
export const policyVerify = defineActivity({
  name: 'policy-verify',
  summary: 'Run the policy tests on the server and in the local evaluator; both must pass',
  mutates: false,
  safeInPlanMode: true,
  destructive: false,
  params: z.object({}).strict(),
  async plan(ctx) {
    return { action: this.name, stepId: ctx.stepId, summary: ['run the policy tests (server and local evaluator)'], mutations: [], destructive: false, warnings: [], data: null };
  },
  async apply(_plan, ctx) {
    const { tailnet, policy } = ctx.ports;
    const [current, devices, users] = await Promise.all([tailnet.getPolicy(), tailnet.listDevices({ all: true }), tailnet.listUsers({ type: 'all' })]);
    const server = await tailnet.validatePolicy(current.text);
    const serverFailures = (server.data ?? []).flatMap((f) => (f.errors ?? []).map((e) => `${f.user}: ${e}`));
    const serverOk = !server.message && serverFailures.length === 0;
    const local = await policy.checkPolicy(current.text, devices, users);
    if (serverOk !== local.ok)
      throw new CheckFailedError(`server and local evaluator disagree: server ${serverOk ? 'passes' : 'fails'}, local ${local.ok ? 'passes' : 'fails'}`, {
        hint: `server: ${serverFailures.join('; ') || server.message || 'ok'}; local: ${local.failures.join('; ') || 'ok'}. Nothing was changed; resume after investigating.`,
      });
    if (!serverOk)
      throw new CheckFailedError(`policy tests fail: ${[...serverFailures, ...local.failures].slice(0, 5).join('; ') || server.message}`, {
        hint: 'the quarantine is in place but does not prove itself; fix the policy and resume.',
      });
    return { ok: true, etag: current.etag };
  },
  async check() {
    return { done: false, detail: 'read-only: re-run' };
  },
});
