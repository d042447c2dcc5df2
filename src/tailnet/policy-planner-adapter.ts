/**
 * Adapts the policy engine (src/tailnet/policy) to the engine's `PolicyPlanner` port. Pure:
 * the engine performs the steps a plan lists (policy writes with If-Match, the retag).
 */
import { ConflictError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import type { PolicyCheckResult, PolicyEditPlan, PolicyPlanner, QuarantineRequest, ReleaseRequest } from '../engine/ports.js';
import {
  checkPolicy,
  compilePolicy,
  parsePolicy,
  planQuarantine,
  planRelease,
  reachCheck,
  renderQuarantinePlan,
  renderReleasePlan,
  type PlanStep,
} from './policy/index.js';
import type { Device, User } from './types.js';

/** One thing the engine does to apply a policy plan, in order. */
export type PolicyApplyStep =
  | { kind: 'set-policy'; description: string; text: string }
  | { kind: 'set-device-tags'; nodeId: string; device: string; tags: string[]; previousTags: string[] };

/** The port's plan, plus the ordered steps and the tags the target ends with. */
export interface StagedPolicyEditPlan extends PolicyEditPlan {
  steps: PolicyApplyStep[];
  /** Tags the target device carries once the plan is applied (for the responder-SSH check). */
  deviceTagsAfter: Record<string, string[]>;
}

const ROLE_AUTOGROUP = /autogroup:(?:admin|owner|it-admin|network-admin|billing-admin|auditor)\b/;

export interface PolicyPlannerOptions {
  isolateInbound?: boolean;
}

export function createPolicyPlanner(options: PolicyPlannerOptions = {}): PolicyPlanner {
  return {
    async planQuarantine(request: QuarantineRequest): Promise<StagedPolicyEditPlan> {
      const plan = planQuarantine(
        request.policyText,
        { devices: request.devices, users: request.users },
        {
          run: request.runId,
          targets: [request.device.nodeId],
          responders: request.responders,
          highRisk: request.highRiskResources,
          ...(options.isolateInbound ? { isolateInbound: true } : {}),
        },
      );
      if (plan.status !== 'ready')
        throw new ConflictError(`no provably safe quarantine for ${request.device.name}: ${plan.refusals.join('; ')}`, {
          hint: 'Nothing was changed. `tailnet-ir policy quarantine` shows the full proof; isolate the node another way (delete it, or expire its key) if the policy cannot be edited safely.',
        });
      return {
        newText: plan.newText,
        diff: plan.diff,
        summary: renderQuarantinePlan(plan, { diff: false }).split('\n'),
        addedTests: plan.addedTests,
        releaseRecord: { run: plan.run, marker: plan.marker, quarantineTag: plan.quarantineTag } as JsonValue,
        steps: plan.steps.map(toApplyStep),
        deviceTagsAfter: Object.fromEntries(plan.retag.map((r) => [r.nodeId, r.to])),
      };
    },

    async planRelease(request: ReleaseRequest): Promise<StagedPolicyEditPlan> {
      const record = request.releaseRecord as { run?: string } | null;
      const run = record?.run ?? request.runId;
      // The release is checked the way the control server will check the write: parked tests
      // whose device is gone (the playbook deletes it first) stay parked instead of failing it.
      const plan = planRelease(request.policyText, run, { inventory: { devices: request.devices, users: request.users ?? [] } });
      if (plan.status === 'conflict')
        throw new ConflictError(`cannot lift quarantine ${run} exactly: ${plan.conflicts.join('; ')}`, {
          hint: 'Nothing was changed. `tailnet-ir policy release --policy … --devices … --users …` shows the conflicts; resolve them (edited regions, failing tests), then resume.',
        });
      const newText = plan.newText ?? request.policyText;
      const present = new Map(request.devices.map((d) => [d.nodeId, d]));
      // Devices still in the tailnet get their old tags back before the policy drops the quarantine
      // tag. A formerly user-owned device cannot be untagged through the API: it keeps the
      // quarantine tag until it is deleted or re-authenticated, and the summary says so.
      const still = plan.devices.filter((d) => present.has(d.nodeId));
      const retags: PolicyApplyStep[] = still
        .filter((d) => d.tags.length > 0)
        .map((d) => ({ kind: 'set-device-tags', nodeId: d.nodeId, device: present.get(d.nodeId)!.name, tags: d.tags, previousTags: present.get(d.nodeId)!.tags ?? [] }));
      const manual = still.filter((d) => d.tags.length === 0).map((d) => `${present.get(d.nodeId)!.name} was user-owned: re-authenticate it (tailscale up --force-reauth) or delete it to drop the quarantine tag`);
      return {
        newText,
        diff: plan.diff,
        summary: [
          ...renderReleasePlan(plan).split('\n'),
          ...manual,
          ...(request.users || !ROLE_AUTOGROUP.test(request.policyText) ? [] : ['no user list was given: role autogroups (autogroup:admin, …) counted as empty when the tests were checked']),
        ],
        addedTests: [],
        releaseRecord: (request.releaseRecord ?? null) as JsonValue,
        steps: [...retags, ...(newText !== request.policyText ? [{ kind: 'set-policy' as const, description: `remove the edits of quarantine ${run}`, text: newText }] : [])],
        deviceTagsAfter: Object.fromEntries(plan.devices.map((d) => [d.nodeId, d.tags])),
      };
    },

    async checkPolicy(policyText: string, devices: Device[], users: User[]): Promise<PolicyCheckResult> {
      const { failures } = checkPolicy(policyText, { devices, users });
      const lines = failures.flatMap((f) => (f.errors ?? []).map((e) => `${f.user}: ${e}`));
      return { ok: lines.length === 0, failures: lines };
    },

    async checkResponderAccess(newText: string, device: Device, responders: string[], devices: Device[], users: User[]): Promise<PolicyCheckResult> {
      const model = compilePolicy(parsePolicy(newText), { devices, users });
      const failures: string[] = [];
      for (const responder of responders) {
        for (const address of device.addresses) {
          const to = address.includes(':') ? `[${address}]:22` : `${address}:22`;
          const r = reachCheck(model, responder, to);
          // Every responder address of the same family needs TCP to port 22, not just one of them.
          const blocked = r.pairs.filter((p) => p.tcp.length === 0).map((p) => p.from);
          if (r.pairs.length === 0) failures.push(`${responder} has no device that could reach ${device.name} (${to})`);
          else if (blocked.length) failures.push(`${responder} (${blocked.join(', ')}) cannot reach ${device.name} (${to}) on tcp:22`);
        }
      }
      return { ok: failures.length === 0, failures };
    },
  };
}

function toApplyStep(s: PlanStep): PolicyApplyStep {
  return s.kind === 'set-policy'
    ? { kind: 'set-policy', description: s.description, text: s.text }
    : { kind: 'set-device-tags', nodeId: s.nodeId, device: s.device, tags: s.tags, previousTags: s.previousTags };
}
