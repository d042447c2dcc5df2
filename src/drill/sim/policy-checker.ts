import { checkPolicy } from '../../tailnet/policy/index.js';
import type { SimPolicyChecker } from './sim-tailnet.js';

/** The simulator judges policy writes with the same engine the playbooks use. */
export const policyEngineChecker: SimPolicyChecker = {
  check: (text, inventory, options) => checkPolicy(text, inventory, options),
};
