import { ActivityRegistry } from '../activity.js';
import { tailnetSnapshot } from './triage.js';
import { disableRoutes, expireNodeKey, revokeAuthKeys, suspendUser } from './identity.js';
import { fetchAuditLogs } from './audit-logs.js';
import { deleteDevice, recreateDevice, waitForDevice } from './eradicate.js';
import { policyQuarantine, policyVerify, releaseQuarantine } from './policy.js';
import { collectEvidence, sealEvidence, verifyEvidence } from './evidence.js';
import { writeReport } from './report.js';

/** A fresh registry holding every built-in activity. */
export function createDefaultRegistry(): ActivityRegistry {
  return new ActivityRegistry([
    tailnetSnapshot,
    policyQuarantine,
    policyVerify,
    releaseQuarantine,
    suspendUser,
    revokeAuthKeys,
    expireNodeKey,
    disableRoutes,
    fetchAuditLogs,
    collectEvidence,
    sealEvidence,
    verifyEvidence,
    deleteDevice,
    recreateDevice,
    waitForDevice,
    writeReport,
  ]);
}
