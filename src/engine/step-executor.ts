import { canonicalJson, toJsonValue, type JsonValue } from '../core/json.js';
import { sha256Hex, type JournalEntry } from '../core/journal-entry.js';
import type { Plan } from '../core/plan.js';
import { approvalMode, approvalPrompt, type AnyStep } from '../core/playbook.js';
import { parseDuration } from '../core/clock.js';
import { resolveParams, type ExpressionScope } from '../core/expressions.js';
import { ExitCode, TailnetIrError, UsageError } from '../core/errors.js';
import type { ActivityContext, ActivityRegistry, AnyActivity } from './activity.js';
import type { Approver, Ports } from './ports.js';
import type { Journal } from './journal.js';
import { InvariantError, PlanStaleError } from './engine-errors.js';

/** What a run knows between steps; lives in the machine context (JSON only). */
export interface ScopeSnapshot {
  inputs: Record<string, JsonValue>;
  outputs: Record<string, JsonValue>;
}

export type PlanPhaseResult = { kind: 'done'; output: JsonValue } | { kind: 'planned'; plan: Plan; digest: string };
export type ApprovalPhaseResult =
  | { kind: 'done'; output: JsonValue }
  | { kind: 'approved' }
  | { kind: 'pending'; message: string }
  | { kind: 'denied'; message: string };
export type ApplyPhaseResult = { kind: 'done'; output: JsonValue };

export interface RunOptions {
  /** Lets delete/recreate go ahead without a verified archive; journaled with the reason. */
  evidenceOverride?: { reason: string };
  /** Wall-clock timer for step timeouts (tests may shorten it). */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

export interface StepExecutorDeps {
  runId: string;
  steps: ReadonlyMap<string, AnyStep>;
  registry: ActivityRegistry;
  ports: Ports;
  approver: Approver;
  journal: Journal;
  options: RunOptions;
}

/** Stable digest of a plan: intents are for this exact plan. */
export function planDigest(plan: Plan): string {
  return sha256Hex(canonicalJson(plan));
}

/** Digest of what an approver agreed to: the plan without its volatile data keys. */
export function approvalDigest(plan: Plan): string {
  const volatile = new Set(plan.volatile ?? []);
  const data = plan.data && typeof plan.data === 'object' && !Array.isArray(plan.data)
    ? Object.fromEntries(Object.entries(plan.data).filter(([k]) => !volatile.has(k)))
    : plan.data;
  return sha256Hex(canonicalJson({ ...plan, data }));
}

/**
 * The three phases of a step (plan → approval → apply), each safe to run again after a crash:
 * every phase first reads what the journal already holds for the step.
 */
export class StepExecutor {
  constructor(private readonly deps: StepExecutorDeps) {}

  private step(stepId: string): { step: AnyStep; activity: AnyActivity } {
    const step = this.deps.steps.get(stepId);
    const activity = step && this.deps.registry.get(step.action);
    if (!step || !activity) throw new Error(`internal: step ${stepId} or its activity is not registered`);
    return { step, activity };
  }

  private entries(stepId: string): JournalEntry[] {
    return this.deps.journal.forStep(stepId);
  }

  private doneOutput(stepId: string): JsonValue | undefined {
    const done = this.entries(stepId).findLast((e) => e.type === 'done');
    return done ? ((done.data as { output?: JsonValue }).output ?? null) : undefined;
  }

  /**
   * The plan this step committed to: the last one with an intent, unless an attempt failed
   * after it (then the step is planned afresh from the current state, and re-approved if the
   * plan changed; apply still checks first because a failed attempt may have landed).
   */
  private committedPlan(stepId: string): { plan: Plan; digest: string } | undefined {
    const entries = this.entries(stepId);
    const intent = entries.findLast((e) => e.type === 'intent');
    if (!intent) return undefined;
    const after = entries.slice(entries.indexOf(intent) + 1);
    if (after.some((e) => e.type === 'step-failed')) return undefined;
    const digest = (intent.data as { planDigest: string }).planDigest;
    const planned = entries.findLast((e) => e.type === 'plan' && (e.data as { digest?: string }).digest === digest);
    if (!planned) return undefined;
    const plan = (planned.data as { plan: Plan }).plan;
    // The journal stores plans with secret-shaped text masked; a plan that does not read back
    // exactly as approved must not be applied from the journal: plan afresh (apply checks first).
    return planDigest(plan) === digest ? { plan, digest } : undefined;
  }

  private context(stepId: string, scope: ScopeSnapshot, activity: AnyActivity, step: AnyStep, signal: AbortSignal): ActivityContext<unknown> {
    const exprScope: ExpressionScope = { inputs: scope.inputs, outputs: scope.outputs };
    let resolved: unknown;
    try {
      resolved = resolveParams(step.params, exprScope);
    } catch (e) {
      throw new UsageError(`step ${stepId}: ${(e as Error).message}`, { hint: 'the step cannot run with these inputs; nothing was changed.' });
    }
    const parsed = activity.params.safeParse(resolved);
    if (!parsed.success)
      throw new UsageError(`step ${stepId} (${activity.name}): bad params: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}`, {
        hint: 'check the playbook and the outputs of the steps it refers to; nothing was changed.',
      });
    return { runId: this.deps.runId, stepId, params: parsed.data, inputs: scope.inputs, outputs: scope.outputs, ports: this.deps.ports, signal };
  }

  private progress(stepId: string, phase: Parameters<Ports['progress']>[0]['phase'], message: string): void {
    this.deps.ports.progress({ runId: this.deps.runId, stepId, phase, message });
  }

  async skip(stepId: string, reason: string): Promise<void> {
    if (this.entries(stepId).some((e) => e.type === 'step-skipped' || e.type === 'done')) return;
    this.progress(stepId, 'skip', reason);
    await this.deps.journal.append('step-skipped', stepId, { reason });
  }

  async plan(stepId: string, scope: ScopeSnapshot, signal: AbortSignal): Promise<PlanPhaseResult> {
    const done = this.doneOutput(stepId);
    if (done !== undefined) return { kind: 'done', output: done };
    const committed = this.committedPlan(stepId);
    if (committed) return { kind: 'planned', ...committed };
    const { step, activity } = this.step(stepId);
    const ctx = this.context(stepId, scope, activity, step, signal);
    this.progress(stepId, 'plan', `planning ${step.action}`);
    const raw = await activity.plan(ctx);
    // The engine, not the activity, has the last word on destructiveness.
    const plan: Plan = toJsonValue({ ...raw, destructive: raw.destructive || activity.destructive }) as unknown as Plan;
    const digest = planDigest(plan);
    await this.deps.journal.append('plan', stepId, { digest, plan });
    return { kind: 'planned', plan, digest };
  }

  /** Gate: required by the playbook, or by the engine for destructive activities. */
  gateNeeded(stepId: string, plan: Plan): boolean {
    const { step, activity } = this.step(stepId);
    if (plan.mutations.length === 0) return false; // nothing changes: nothing to approve
    return approvalMode(step) === 'required' || activity.destructive || plan.destructive;
  }

  private approvalFor(stepId: string, digest: string): JournalEntry | undefined {
    return this.entries(stepId).findLast((e) => e.type === 'approval' && (e.data as { planDigest?: string }).planDigest === digest);
  }

  async approve(stepId: string, plan: Plan, scope: ScopeSnapshot): Promise<ApprovalPhaseResult> {
    const done = this.doneOutput(stepId);
    if (done !== undefined) return { kind: 'done', output: done };
    if (!this.gateNeeded(stepId, plan)) return { kind: 'approved' };
    const digest = approvalDigest(plan);
    const prior = this.approvalFor(stepId, digest);
    if (prior) {
      const d = prior.data as { kind: string; by: string; reason: string };
      return d.kind === 'approved' ? { kind: 'approved' } : { kind: 'denied', message: `${stepId} was denied by ${d.by}: ${d.reason}` };
    }
    const { step, activity } = this.step(stepId);
    let prompt = approvalPrompt(step) ?? `Apply ${step.action} (${activity.summary})?`;
    try {
      prompt = String(resolveParams(prompt, { inputs: scope.inputs, outputs: scope.outputs }));
    } catch {
      // a prompt that cannot be filled in is still a prompt
    }
    this.progress(stepId, 'approval', prompt);
    const decision = await this.deps.approver.decide({
      runId: this.deps.runId,
      stepId,
      action: step.action,
      destructive: plan.destructive,
      prompt,
      summary: plan.summary,
      planDigest: digest,
    });
    if (decision.kind === 'pending') {
      const already = this.entries(stepId).some((e) => e.type === 'approval-requested' && (e.data as { planDigest?: string }).planDigest === digest);
      if (!already) await this.deps.journal.append('approval-requested', stepId, { planDigest: digest, prompt, message: decision.message });
      return { kind: 'pending', message: decision.message };
    }
    await this.deps.journal.append('approval', stepId, { kind: decision.kind, by: decision.by, reason: decision.reason, planDigest: digest });
    return decision.kind === 'approved' ? { kind: 'approved' } : { kind: 'denied', message: `${stepId} was denied by ${decision.by}: ${decision.reason}` };
  }

  /** Engine invariants, checked right before any mutation. */
  private async enforceInvariants(stepId: string, activity: AnyActivity, plan: Plan): Promise<void> {
    if (plan.mutations.length === 0) return;
    if (this.gateNeeded(stepId, plan) && (this.approvalFor(stepId, approvalDigest(plan))?.data as { kind?: string } | undefined)?.kind !== 'approved')
      throw new InvariantError(`${stepId} changes the tailnet destructively and has no journaled approval for this plan`, {
        hint: 'approve the step and resume; nothing was changed.',
      });
    if (activity.requiresVerifiedEvidence) {
      const verified = this.deps.journal
        .all()
        .some((e) => e.type === 'done' && e.step !== undefined && this.provesEvidence(e.step) && (e.data as { output?: { verified?: boolean } }).output?.verified === true);
      if (!verified) {
        // An override, once journaled for this run, covers its later eradication steps too.
        const earlier = this.deps.journal.all().findLast((e) => e.type === 'invariant-override');
        const reason = this.deps.options.evidenceOverride?.reason?.trim() || (earlier?.data as { reason?: string } | undefined)?.reason;
        if (!reason)
          throw new InvariantError(`${stepId} (${activity.name}) refused: this run's sealed evidence archive has not verified`, {
            hint: 'collect, seal and verify evidence first; to go ahead anyway resume with an explicit evidence override reason (it is journaled).',
          });
        if (!this.entries(stepId).some((e) => e.type === 'invariant-override'))
          await this.deps.journal.append('invariant-override', stepId, { invariant: 'verified-evidence-before-eradication', reason });
      }
    }
    if (activity.checksResponderAccess) {
      const data = plan.data as { newText?: string; nodeId?: string; responders?: string[]; deviceTagsAfter?: Record<string, string[]> };
      if (typeof data.newText !== 'string' || !data.nodeId) throw new Error(`internal: ${activity.name} plan lacks newText/nodeId`);
      const { tailnet, policy } = this.deps.ports;
      const [current, users] = await Promise.all([tailnet.listDevices({ all: true }), tailnet.listUsers({ type: 'all' })]);
      // Judge the policy against the inventory as the plan leaves it (e.g. the node retagged).
      const after = data.deviceTagsAfter ?? {};
      const devices = current.map((d) => (after[d.nodeId] ? { ...d, tags: after[d.nodeId] } : d));
      const device = devices.find((d) => d.nodeId === data.nodeId);
      if (device) {
        const access = await policy.checkResponderAccess(data.newText, device, data.responders ?? [], devices, users);
        if (!access.ok)
          throw new InvariantError(`${stepId} refused: the planned policy removes responders' inbound SSH to ${device.name}: ${access.failures.join('; ')}`, {
            hint: 'the policy was not changed; fix the responders list or the quarantine planner and resume.',
          });
      }
    }
  }

  private provesEvidence(stepId: string): boolean {
    const step = this.deps.steps.get(stepId);
    return Boolean(step && this.deps.registry.get(step.action)?.provesEvidence);
  }

  async apply(stepId: string, plan: Plan, digest: string, scope: ScopeSnapshot, signal: AbortSignal): Promise<ApplyPhaseResult> {
    const done = this.doneOutput(stepId);
    if (done !== undefined) return { kind: 'done', output: done };
    const { step, activity } = this.step(stepId);
    await this.enforceInvariants(stepId, activity, plan);
    const ctx = this.context(stepId, scope, activity, step, signal);
    const finish = async (output: unknown) => {
      const json = toJsonValue(output);
      await this.deps.journal.append('done', stepId, { planDigest: digest, output: json });
      this.progress(stepId, 'done', `${step.id} done`);
      return { kind: 'done' as const, output: json };
    };

    const entries = this.entries(stepId);
    const hasIntent = entries.some((e) => e.type === 'intent' && (e.data as { planDigest?: string }).planDigest === digest);
    const triedBefore = entries.some((e) => e.type === 'intent');
    if (triedBefore && activity.mutates) {
      // Crash or failure after an earlier intent: ask the tailnet whether the change already happened.
      this.progress(stepId, 'check', `checking whether ${step.action} already took effect`);
      const check = await activity.check(plan, ctx);
      await this.deps.journal.append('check', stepId, { planDigest: digest, done: check.done, detail: check.detail });
      if (check.done) return finish(check.output);
    }
    if (!hasIntent) {
      await this.deps.journal.append('intent', stepId, { planDigest: digest, idempotencyKey: `${this.deps.runId}/${stepId}/${digest.slice(0, 16)}`, mutations: plan.mutations });
    }

    const attempts = 'retry' in step && step.retry ? step.retry.attempts : 1;
    const backoff = 'retry' in step && step.retry ? parseDuration(step.retry.backoff) : 0;
    const timeoutMs = step.timeout ? parseDuration(step.timeout) : undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        const wait = backoff * 2 ** (attempt - 2);
        await this.deps.journal.append('step-retry', stepId, { attempt, afterMs: wait, error: messageOf(lastError) });
        this.progress(stepId, 'retry', `attempt ${attempt}/${attempts} in ${wait} ms: ${messageOf(lastError)}`);
        await this.deps.ports.clock.sleep(wait, signal);
        if (activity.mutates) {
          // The failed attempt may have landed server-side (timeout after the write): check, then act.
          const check = await activity.check(plan, ctx);
          if (check.done) return finish(check.output);
        }
      }
      try {
        this.progress(stepId, 'apply', `applying ${step.action}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
        const output = await this.withTimeout(timeoutMs, signal, (s) => activity.apply(plan, { ...ctx, signal: s }));
        return finish(output);
      } catch (e) {
        lastError = e;
        // Retry only what may be transient (remote failures, unknown errors): bad input,
        // refusals and failed checks will fail the same way again.
        if (e instanceof PlanStaleError || e instanceof InvariantError || signal.aborted) break;
        if (e instanceof TailnetIrError && e.exitCode !== ExitCode.remote) break;
      }
    }
    await this.deps.journal.append('step-failed', stepId, {
      planDigest: digest,
      message: messageOf(lastError),
      ...(lastError instanceof PlanStaleError ? { stale: true } : {}),
      ...(lastError instanceof TailnetIrError && lastError.hint ? { hint: lastError.hint } : {}),
    });
    throw lastError;
  }

  private async withTimeout<T>(ms: number | undefined, outer: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (ms === undefined) return run(outer);
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer.reason);
    outer.addEventListener('abort', onAbort, { once: true });
    const setTimer = this.deps.options.setTimer ?? ((fn: () => void, t: number) => {
      const h = setTimeout(fn, t);
      return { cancel: () => clearTimeout(h) };
    });
    let timer: { cancel(): void } | undefined;
    try {
      return await Promise.race([
        run(controller.signal),
        new Promise<never>((_, reject) => {
          timer = setTimer(() => {
            const err = new StepTimeoutError(`timed out after ${ms} ms`);
            controller.abort(err);
            reject(err);
          }, ms);
        }),
      ]);
    } finally {
      timer?.cancel();
      outer.removeEventListener('abort', onAbort);
    }
  }
}

export class StepTimeoutError extends TailnetIrError {
  override readonly code = 'timeout';
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
