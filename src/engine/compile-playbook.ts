import { assign, fromPromise, setup } from 'xstate';
import type { JsonValue } from '../core/json.js';
import type { Plan } from '../core/plan.js';
import { evaluateGuard, parseGuard, type GuardExpr } from '../core/expressions.js';
import { skipReason, type AnyStep, type Playbook, type PlaybookStep } from '../core/playbook.js';
import { InvariantError, PlanStaleError, RunPausedError } from './engine-errors.js';
import type { ApplyPhaseResult, ApprovalPhaseResult, PlanPhaseResult, StepExecutor } from './step-executor.js';

/** Machine context: JSON only, so `getPersistedSnapshot()` round-trips through snapshot.json. */
export interface RunContext {
  inputs: Record<string, JsonValue>;
  outputs: Record<string, JsonValue>;
  /** Current plan per step (with its digest), between the plan and apply phases. */
  plans: Record<string, { plan: Plan; digest: string }>;
  /** Re-plans after a 412 etc., bounded per step. */
  replans: Record<string, number>;
  /** Why the run stopped, when it stopped. */
  halt: { kind: 'paused' | 'aborted'; step: string; reason: string; exitCode: number } | null;
}

export interface StepInput {
  stepId: string;
  inputs: Record<string, JsonValue>;
  outputs: Record<string, JsonValue>;
  plan?: { plan: Plan; digest: string };
}

export const MAX_REPLANS = 3;

/** Reserved state names; step ids cannot start with `_`, so they never clash. */
export const PAUSED = '_paused';
export const ABORTED = '_aborted';
export const COMPLETED = '_completed';

function errorInfo(e: unknown): { message: string; exitCode: number } {
  const err = e as { message?: string; exitCode?: number; hint?: string };
  const message = `${err?.message ?? String(e)}${err?.hint ? ` (${err.hint})` : ''}`;
  return { message, exitCode: typeof err?.exitCode === 'number' ? err.exitCode : 3 };
}

/**
 * Compile a validated playbook into an xstate v5 machine. Each step is a compound state:
 *   entry ─(when false)→ skipping → next
 *   entry → planning → approval → applying → done → next
 * Failures follow the step's on_failure; approval waits and invariant refusals go to `_paused`,
 * from where a RESUME event re-enters the step (whose phases re-read the journal).
 */
export function compilePlaybook(playbook: Playbook, executor: StepExecutor) {
  const guards = new Map<string, GuardExpr>();
  for (const s of [...playbook.steps, ...playbook.compensations]) if (s.when) guards.set(s.id, parseGuard(s.when));
  const skipReasons = new Map([...playbook.steps, ...playbook.compensations].map((s) => [s.id, skipReason(s)]));

  const runSetup = setup({
    types: {
      context: {} as RunContext,
      events: {} as { type: 'RESUME' },
      input: {} as { inputs: Record<string, JsonValue> },
    },
    actors: {
      skipStep: fromPromise<void, StepInput>(async ({ input }) => executor.skip(input.stepId, skipReasons.get(input.stepId) ?? 'guard is false')),
      planStep: fromPromise<PlanPhaseResult, StepInput>(async ({ input, signal }) => executor.plan(input.stepId, input, signal)),
      approveStep: fromPromise<ApprovalPhaseResult, StepInput>(async ({ input }) => {
        if (!input.plan) throw new Error(`internal: no plan for ${input.stepId}`);
        return executor.approve(input.stepId, input.plan.plan, input);
      }),
      applyStep: fromPromise<ApplyPhaseResult, StepInput>(async ({ input, signal }) => {
        if (!input.plan) throw new Error(`internal: no plan for ${input.stepId}`);
        return executor.apply(input.stepId, input.plan.plan, input.plan.digest, input, signal);
      }),
    },
    guards: {
      whenFalse: ({ context }, params: { stepId: string }) => {
        const expr = guards.get(params.stepId);
        return expr !== undefined && !evaluateGuard(expr, { inputs: context.inputs, outputs: context.outputs });
      },
      resultIs: ({ event }, params: { kind: string }) => (event as unknown as { output?: { kind?: string } }).output?.kind === params.kind,
      errorIsStale: ({ context, event }, params: { stepId: string }) =>
        (event as unknown as { error?: unknown }).error instanceof PlanStaleError && (context.replans[params.stepId] ?? 0) < MAX_REPLANS,
      errorForcesPause: ({ event }) => {
        const error = (event as unknown as { error?: unknown }).error;
        return error instanceof InvariantError || error instanceof RunPausedError || error instanceof PlanStaleError;
      },
      pausedAt: ({ context }, params: { stepId: string }) => context.halt?.kind === 'paused' && context.halt.step === params.stepId,
    },
    actions: {
      storePlan: assign(({ context, event }, params: { stepId: string }) => {
        const out = (event as unknown as { output: { plan: Plan; digest: string } }).output;
        return { plans: { ...context.plans, [params.stepId]: { plan: out.plan, digest: out.digest } } };
      }),
      storeOutput: assign(({ context, event }, params: { stepId: string }) => {
        const out = (event as unknown as { output: { output: JsonValue } }).output;
        return { outputs: { ...context.outputs, [params.stepId]: out.output } };
      }),
      countReplan: assign(({ context }, params: { stepId: string }) => ({ replans: { ...context.replans, [params.stepId]: (context.replans[params.stepId] ?? 0) + 1 } })),
      haltFromError: assign(({ event }, params: { stepId: string; kind: 'paused' | 'aborted' }) => {
        const info = errorInfo((event as unknown as { error?: unknown }).error);
        return { halt: { kind: params.kind, step: params.stepId, reason: info.message, exitCode: params.kind === 'paused' ? 5 : info.exitCode } };
      }),
      haltFromResult: assign(({ event }, params: { stepId: string; kind: 'paused' | 'aborted' }) => {
        const out = (event as unknown as { output: { message: string } }).output;
        return { halt: { kind: params.kind, step: params.stepId, reason: out.message, exitCode: params.kind === 'paused' ? 5 : 4 } };
      }),
      clearHalt: assign({ halt: null }),
    },
  });

  type StateConfig = Parameters<typeof runSetup.createStateConfig>[0];
  const stepInput =
    (stepId: string) =>
    ({ context }: { context: RunContext }): StepInput => ({
      stepId,
      inputs: context.inputs,
      outputs: context.outputs,
      ...(context.plans[stepId] ? { plan: context.plans[stepId] } : {}),
    });
  const key = (s: AnyStep, compensation: boolean) => (compensation ? `compensation__${s.id}` : s.id);

  /** Where a failure in step `s` leads. */
  const onFailure = (s: AnyStep, next: string) => {
    const mode = 'on_failure' in s ? (s as PlaybookStep).on_failure : 'abort';
    const paused = { target: `#run.${PAUSED}`, actions: { type: 'haltFromError' as const, params: { stepId: s.id, kind: 'paused' as const } } };
    const tail =
      mode === 'skip'
        ? { target: next }
        : mode === 'abort'
          ? { target: `#run.${ABORTED}`, actions: { type: 'haltFromError' as const, params: { stepId: s.id, kind: 'aborted' as const } } }
          : mode === 'compensate' && 'compensation' in s && s.compensation
            ? { target: `#run.compensation__${s.compensation}`, actions: { type: 'haltFromError' as const, params: { stepId: s.id, kind: 'aborted' as const } } }
            : paused;
    // Invariant refusals and stale plans never skip or abort: a human looks first.
    return [{ guard: { type: 'errorForcesPause' as const }, ...paused }, tail];
  };

  const stepState = (s: AnyStep, next: string): StateConfig => {
    const failure = onFailure(s, next);
    const denial =
      'on_failure' in s && s.on_failure === 'skip'
        ? { target: next }
        : { target: `#run.${ABORTED}`, actions: { type: 'haltFromResult' as const, params: { stepId: s.id, kind: 'aborted' as const } } };
    return runSetup.createStateConfig({
      initial: 'entry',
      states: {
        entry: {
          always: [{ guard: { type: 'whenFalse', params: { stepId: s.id } }, target: 'skipping' }, { target: 'planning' }],
        },
        skipping: {
          invoke: { src: 'skipStep', input: stepInput(s.id), onDone: { target: next }, onError: failure },
        },
        planning: {
          invoke: {
            src: 'planStep',
            input: stepInput(s.id),
            onDone: [
              { guard: { type: 'resultIs', params: { kind: 'done' } }, target: 'done', actions: { type: 'storeOutput', params: { stepId: s.id } } },
              { target: 'approval', actions: { type: 'storePlan', params: { stepId: s.id } } },
            ],
            onError: failure,
          },
        },
        approval: {
          invoke: {
            src: 'approveStep',
            input: stepInput(s.id),
            onDone: [
              { guard: { type: 'resultIs', params: { kind: 'done' } }, target: 'done', actions: { type: 'storeOutput', params: { stepId: s.id } } },
              { guard: { type: 'resultIs', params: { kind: 'pending' } }, target: `#run.${PAUSED}`, actions: { type: 'haltFromResult', params: { stepId: s.id, kind: 'paused' } } },
              { guard: { type: 'resultIs', params: { kind: 'denied' } }, ...denial },
              { target: 'applying' },
            ],
            onError: failure,
          },
        },
        applying: {
          invoke: {
            src: 'applyStep',
            input: stepInput(s.id),
            onDone: { target: 'done', actions: { type: 'storeOutput', params: { stepId: s.id } } },
            onError: [{ guard: { type: 'errorIsStale', params: { stepId: s.id } }, target: 'planning', actions: { type: 'countReplan', params: { stepId: s.id } } }, ...failure],
          },
        },
        done: { always: { target: next } },
      },
    });
  };

  const states: Record<string, StateConfig> = {};
  playbook.steps.forEach((s, i) => {
    const nextStep = playbook.steps[i + 1];
    states[key(s, false)] = stepState(s, nextStep ? `#run.${key(nextStep, false)}` : `#run.${COMPLETED}`);
  });
  for (const c of playbook.compensations) states[key(c, true)] = stepState(c, `#run.${ABORTED}`);

  const resumeTargets = [...playbook.steps.map((s) => [s, false] as const), ...playbook.compensations.map((c) => [c, true] as const)].map(([s, comp]) => ({
    guard: { type: 'pausedAt' as const, params: { stepId: s.id } },
    target: `#run.${key(s, comp)}`,
    actions: { type: 'clearHalt' as const },
  }));
  states[PAUSED] = runSetup.createStateConfig({ on: { RESUME: resumeTargets } });
  states[ABORTED] = { type: 'final' };
  states[COMPLETED] = { type: 'final' };

  return runSetup.createMachine({
    id: 'run',
    context: ({ input }) => ({ inputs: input.inputs, outputs: {}, plans: {}, replans: {}, halt: null }),
    initial: key(playbook.steps[0] as AnyStep, false),
    states,
  });
}

export type RunMachine = ReturnType<typeof compilePlaybook>;
