import type { PolicyTest, PolicyTestFailure } from '../types.js';
import { compilePolicy, type Inventory } from './evaluator.js';
import { parsePolicy } from './policy-model.js';
import { runPolicyTests, runSshTests } from './policy-tests.js';

export interface CheckPolicyOptions {
  /** Further `tests` entries (the array form of `POST /acl/validate`). */
  extraTests?: PolicyTest[];
  /** Run the policy's own `tests` and `sshTests` (default true). */
  includeOwnTests?: boolean;
}

/**
 * What the control server does on `POST /acl` and `/acl/validate`: parse and validate the policy
 * (throws PolicyInvalidError with Tailscale's message), then run its tests. Pure.
 */
export function checkPolicy(text: string, inventory: Inventory, options: CheckPolicyOptions = {}): { failures: PolicyTestFailure[] } {
  const policy = parsePolicy(text);
  const model = compilePolicy(policy, inventory);
  const failures: PolicyTestFailure[] = [];
  if (options.includeOwnTests !== false) {
    failures.push(...runPolicyTests(model, policy.tests));
    failures.push(...runSshTests(model, policy.sshTests));
  }
  if (options.extraTests?.length) failures.push(...runPolicyTests(model, options.extraTests));
  return { failures };
}
