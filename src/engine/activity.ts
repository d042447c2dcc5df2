import type { z } from 'zod';
import type { JsonValue } from '../core/json.js';
import type { Plan } from '../core/plan.js';
import type { Ports } from './ports.js';

/** What an activity sees when it runs. No globals: effects only through `ports`. */
export interface ActivityContext<P> {
  runId: string;
  stepId: string;
  /** Params after `${…}` references were resolved and validated against the activity's schema. */
  params: P;
  inputs: Readonly<Record<string, unknown>>;
  /** Outputs of completed steps, by step id. */
  outputs: Readonly<Record<string, unknown>>;
  ports: Ports;
  signal: AbortSignal;
  /** Only in a dry run (`plan`): actions of earlier steps that were planned but, not being read-only, not run. */
  plannedActions?: readonly string[];
}

export type CheckResult<O extends JsonValue> = { done: true; output: O; detail: string } | { done: false; detail: string };

/**
 * A playbook action. Idempotent by construction: the engine journals `intent` before `apply`
 * and `done` after; a resumed run that finds an intent without done calls `check` against the
 * API before applying again.
 */
export interface Activity<P = unknown, D extends JsonValue = JsonValue, O extends JsonValue = JsonValue> {
  name: string;
  summary: string;
  /** Changes the tailnet or a host. Read-only activities are simply re-run on resume. */
  mutates: boolean;
  /** Suspend user, revoke key, delete device…: the engine always requires a journaled approval. */
  destructive: boolean;
  /** Delete/recreate: refused unless this run's sealed archive verified (or an override). */
  requiresVerifiedEvidence?: boolean;
  /** Produces the verified-evidence fact the invariant above looks for (output `{ verified: true }`). */
  provesEvidence?: boolean;
  /** A quarantine: the engine asks the policy port whether responders keep SSH before applying. */
  checksResponderAccess?: boolean;
  /** Read-only and side-effect free: `planRun` may execute it to plan the steps after it. */
  safeInPlanMode?: boolean;
  params: z.ZodType<P>;
  /** Compute what would change. Reads only; the result is printed, journaled and approved. */
  plan(ctx: ActivityContext<P>): Promise<Plan<D>>;
  /** Carry out exactly `plan`. Returns the step's output (JSON, no secrets). */
  apply(plan: Plan<D>, ctx: ActivityContext<P>): Promise<O>;
  /** Is `plan` already in effect? Used on resume for an intent without done. */
  check(plan: Plan<D>, ctx: ActivityContext<P>): Promise<CheckResult<O>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyActivity = Activity<any, any, any>;

/** Registered activities by name. Built per run by whoever wires the engine; no global. */
export class ActivityRegistry {
  private readonly byName = new Map<string, AnyActivity>();

  constructor(activities: Iterable<AnyActivity> = []) {
    for (const a of activities) this.register(a);
  }

  register(activity: AnyActivity): this {
    if (this.byName.has(activity.name)) throw new Error(`activity ${activity.name} registered twice`);
    this.byName.set(activity.name, activity);
    return this;
  }

  get(name: string): AnyActivity | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  list(): AnyActivity[] {
    return this.names().map((n) => this.byName.get(n) as AnyActivity);
  }
}

/** A plan with nothing to change. */
export function noChangePlan<D extends JsonValue>(action: string, stepId: string, summary: string[], data: D): Plan<D> {
  return { action, stepId, summary, mutations: [], destructive: false, warnings: [], data };
}

/** Helper that keeps an activity's param/plan/output types tied together. */
export function defineActivity<P, D extends JsonValue, O extends JsonValue>(activity: Activity<P, D, O>): Activity<P, D, O> {
  return activity;
}
