import { ConflictError, TailnetIrError, ExitCode } from '../core/errors.js';
import { PolicyConflictError } from '../tailnet/api-errors.js';

/**
 * The world changed between plan and apply (e.g. 412 on `POST /acl` with If-Match). The engine
 * re-reads, re-plans, and asks for approval again if the new plan differs.
 */
export class PlanStaleError extends ConflictError {
  override readonly code = 'plan-stale';
}

/** The engine refused a step because an invariant does not hold. Nothing was changed. */
export class InvariantError extends ConflictError {
  override readonly code = 'invariant';
}

/** The run stopped and waits for an operator (approval, or a failure to look at). Exit 5. */
export class RunPausedError extends TailnetIrError {
  override readonly exitCode = ExitCode.paused;
  override readonly code = 'paused';
}

/** Is this the API's "precondition failed" (HTTP 412)? Other TailnetApi implementations may only set the status. */
export function isPreconditionFailed(e: unknown): boolean {
  if (e instanceof PolicyConflictError) return true;
  if (!e || typeof e !== 'object') return false;
  const err = e as { status?: unknown; statusCode?: unknown };
  return err.status === 412 || err.statusCode === 412;
}
