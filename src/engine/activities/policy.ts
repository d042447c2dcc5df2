import { z } from 'zod';
import { defineActivity } from '../activity.js';
import type { Plan } from '../../core/plan.js';
import { CheckFailedError } from '../../core/errors.js';
import type { JsonValue } from '../../core/json.js';
import { PlanStaleError, isPreconditionFailed } from '../engine-errors.js';
import type { PolicyEditPlan } from '../ports.js';

/** Plan data of every policy edit: what the engine's responder-SSH invariant inspects. */
export interface PolicyEditData {
  [k: string]: JsonValue;
  etag: string;
  newText: string;
  diff: string;
  nodeId: string;
  responders: string[];
  releaseRecord: JsonValue;
}

function editPlan(action: string, stepId: string, etag: string, nodeId: string, responders: string[], edit: PolicyEditPlan, unchanged: boolean): Plan<PolicyEditData> {
  return {
    action,
    stepId,
    summary: unchanged ? ['the policy already has this edit: nothing to do'] : [...edit.summary, ...edit.diff.split('\n')],
    mutations: unchanged ? [] : [{ kind: 'set-policy', target: 'policy', detail: "POST /acl with If-Match on the policy read at plan time" }],
    destructive: false,
    warnings: [],
    data: { etag, newText: edit.newText, diff: edit.diff, nodeId, responders, releaseRecord: edit.releaseRecord },
    // After a 412 only the ETag may differ; the same edit needs no second approval.
    volatile: ['etag'],
  };
}

async function applyEdit(plan: Plan<PolicyEditData>, tailnet: { setPolicy(text: string, o?: { ifMatch?: string }): Promise<{ etag: string }> }): Promise<string> {
  try {
    return (await tailnet.setPolicy(plan.data.newText, { ifMatch: plan.data.etag })).etag;
  } catch (e) {
    if (isPreconditionFailed(e))
      throw new PlanStaleError('the policy file changed since this edit was planned (412)', { cause: e, hint: 'the engine re-reads and re-plans' });
    throw e;
  }
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
    return editPlan(this.name, ctx.stepId, current.etag, device.nodeId, ctx.params.responders, edit, edit.newText === current.text);
  },
  async apply(plan, ctx) {
    const etag = plan.mutations.length ? await applyEdit(plan, ctx.ports.tailnet) : plan.data.etag;
    await ctx.ports.artifacts.write('policy/quarantine-after.hujson', plan.data.newText);
    return { etag, releaseRecord: plan.data.releaseRecord, nodeId: plan.data.nodeId };
  },
  async check(plan, ctx) {
    const current = await ctx.ports.tailnet.getPolicy();
    return current.text === plan.data.newText
      ? { done: true, output: { etag: current.etag, releaseRecord: plan.data.releaseRecord, nodeId: plan.data.nodeId }, detail: 'policy holds the planned edit' }
      : { done: false, detail: 'policy differs from the planned edit' };
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
    const [current, devices] = await Promise.all([tailnet.getPolicy(), tailnet.listDevices({ all: true })]);
    const edit = await policy.planRelease({ runId: ctx.runId, policyText: current.text, releaseRecord: (ctx.params.releaseRecord ?? null) as JsonValue, devices });
    // Lifting a quarantine is not a quarantine: the responder-SSH invariant does not apply.
    return editPlan(this.name, ctx.stepId, current.etag, ctx.params.nodeId, [], edit, edit.newText === current.text);
  },
  async apply(plan, ctx) {
    const etag = plan.mutations.length ? await applyEdit(plan, ctx.ports.tailnet) : plan.data.etag;
    await ctx.ports.artifacts.write('policy/release-after.hujson', plan.data.newText);
    return { etag, released: true };
  },
  async check(plan, ctx) {
    const current = await ctx.ports.tailnet.getPolicy();
    return current.text === plan.data.newText
      ? { done: true, output: { etag: current.etag, released: true }, detail: 'policy holds the release' }
      : { done: false, detail: 'policy differs from the planned release' };
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
