import type { JsonValue } from './json.js';

/** One change a plan will make, as shown to the approver. */
export interface PlannedMutation {
  /** e.g. `suspend-user`, `revoke-key`, `delete-device`, `set-policy`. */
  kind: string;
  /** Stable id of what is changed (user id, key id, node id, `policy`). */
  target: string;
  /** One human line; may contain names from the tailnet (escape before printing). */
  detail: string;
}

/**
 * What a step will do, computed without changing anything. Printable (`summary`), journaled,
 * approved, and then applied exactly: `apply` receives this object, not the step's params.
 */
export interface Plan<D extends JsonValue = JsonValue> {
  action: string;
  stepId: string;
  summary: string[];
  /** Empty when there is nothing to do (already done, or read-only step). */
  mutations: PlannedMutation[];
  /** True when the engine must collect a journaled approval whatever the playbook says. */
  destructive: boolean;
  warnings: string[];
  /** Activity-specific data `apply` needs; JSON only. */
  data: D;
  /**
   * Keys of `data` that may change without changing what is approved (e.g. a policy ETag
   * after a 412 re-plan): left out of the approval digest so a re-plan with the same effect
   * does not ask again.
   */
  volatile?: string[];
}
