import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { InputFileError, UsageError } from '../core/errors.js';
import type { ApprovalDecision, ApprovalRequest, Approver } from './ports.js';
import { approvalPolicySchema, type ApprovalPolicy } from '../core/approval-policy.js';

/** The next command a responder types to approve and continue (wired by the CLI). */
function resumeHint(request: ApprovalRequest): string {
  return `review with \`tailnet-ir runs show ${request.runId}\`, then approve and continue with \`tailnet-ir resume ${request.runId} --approve ${request.stepId}\``;
}

function pending(request: ApprovalRequest, why: string): ApprovalDecision {
  return { kind: 'pending', message: `step ${request.stepId} (${request.action}${request.destructive ? ', destructive' : ''}) needs approval: ${why}; ${resumeHint(request)}` };
}

/**
 * `--approve all|none|STEP,…`: non-interactive approvals from the command line. Steps not
 * named are not denied: the run pauses there (exit 5) until resumed with an approval.
 */
export function createFlagApprover(spec: string, operator: string): Approver {
  const trimmed = spec.trim();
  if (!trimmed) throw new UsageError('--approve needs all, none, or a comma-separated list of step ids');
  const all = trimmed === 'all';
  const steps = all || trimmed === 'none' ? new Set<string>() : new Set(trimmed.split(',').map((s) => s.trim()).filter(Boolean));
  return {
    async decide(request) {
      if (all || steps.has(request.stepId)) return { kind: 'approved', by: operator, reason: `--approve ${trimmed}` };
      return pending(request, `not covered by --approve ${trimmed}`);
    },
  };
}

export { approvalPolicySchema, type ApprovalPolicy };

/**
 * Approvals from a policy (e.g. quarantine auto, destruction manual). First matching rule wins.
 * A destructive step is auto-approved only by a rule that names its step or action: a default
 * or a blanket rule never waves destruction through.
 */
export function createPolicyApprover(policy: ApprovalPolicy, source: string): Approver {
  return {
    async decide(request) {
      const rule = policy.rules.find(
        (r) =>
          (r.step === undefined || r.step === request.stepId) &&
          (r.action === undefined || r.action === request.action) &&
          (r.destructive === undefined || r.destructive === request.destructive),
      );
      const named = rule !== undefined && (rule.step !== undefined || rule.action !== undefined);
      const decision = rule?.decision ?? policy.default;
      if (decision === 'auto' && (!request.destructive || named)) return { kind: 'approved', by: `approval policy ${source}`, reason: rule ? `rule ${JSON.stringify(rule)}` : 'default: auto' };
      if (decision === 'deny') return { kind: 'denied', by: `approval policy ${source}`, reason: rule ? `rule ${JSON.stringify(rule)}` : 'default: deny' };
      return pending(request, request.destructive && decision === 'auto' ? 'destructive steps need a rule naming them to be automatic' : `approval policy ${source} says manual`);
    },
  };
}

export async function loadApprovalPolicy(file: string): Promise<ApprovalPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InputFileError(file, `cannot read approval policy: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const parsed = approvalPolicySchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputFileError(file, issue?.message ?? 'invalid approval policy', { field: issue?.path.join('.') });
  }
  return parsed.data;
}

/** Ask each approver in turn; the first approve/deny wins, else the last pending message. */
export function firstDecisive(...approvers: Approver[]): Approver {
  return {
    async decide(request) {
      let last: ApprovalDecision = pending(request, 'no approver decided');
      for (const a of approvers) {
        const d = await a.decide(request);
        if (d.kind !== 'pending') return d;
        last = d;
      }
      return last;
    },
  };
}
