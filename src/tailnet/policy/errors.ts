import { UsageError } from '../../core/errors.js';

/**
 * The policy file is malformed or invalid. `message` is exactly the text Tailscale's control
 * server puts in the `message` of its HTTP 400 body (e.g. `line 3, column 5: invalid character …`
 * or `src=tag not found: "tag:x"`), so the simulated tailnet can return it verbatim.
 */
export class PolicyInvalidError extends UsageError {
  override readonly code: string = 'policy-invalid';
  constructor(
    message: string,
    readonly location?: { line: number; column: number },
  ) {
    super(message, { hint: 'fix the policy file and retry; nothing was changed.' });
  }
}

/** The planner met something it does not fully understand and will not guess about. */
export class PolicyUnsupportedError extends UsageError {
  override readonly code: string = 'policy-unsupported';
}
