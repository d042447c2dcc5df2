/**
 * Policy engine: HuJSON parsing and byte-preserving edits, the reachability evaluator, policy
 * tests, the provable quarantine planner, blast radius and release. Pure: no I/O, no clock, no
 * randomness. See docs/policy.md for how a quarantine is proven.
 */
export type { Inventory, Grant, DeviceEntry } from './evaluator.js';
export { compilePolicy, CompiledPolicy, CapabilityTable } from './evaluator.js';
export { PolicyInvalidError, PolicyUnsupportedError } from './errors.js';
export { parseHujson } from './hujson.js';
export { parsePolicy, type Policy, type NetworkRule, type Alias } from './policy-model.js';
export { runPolicyTests, runSshTests } from './policy-tests.js';
export { checkPolicy, type CheckPolicyOptions } from './check-policy.js';
export { AddressSet, parseIp, formatIp } from './addresses.js';
export { findDevice, requireDevice, closestDeviceNames } from './device-lookup.js';
export { reachFrom, reachCheck, type ReachReport, type ReachCheck, type RuleRef } from './reach.js';
export { renderTestFailures, renderReach, renderReachCheck, renderQuarantinePlan, renderReleasePlan, ruleRefText } from './render.js';
export { planQuarantine, inventoryAfterQuarantine, DEFAULT_RESPONDERS, type QuarantinePlan, type QuarantineRequest, type PlanStep, type ProofCheck, type ParkedTest } from './quarantine.js';
export { planRelease, type ReleasePlan, type ReleaseOptions, type StillParkedTest } from './release.js';
export { computeBlastRadius, type BlastRadiusReport, type AccessChange } from './blast-radius.js';
export { unifiedDiff } from './text-diff.js';
