/**
 * The drill scorecard: did the response reach every outcome the playbook promises? Pure: it
 * judges facts gathered after the run (simulator state, run outputs, verification results).
 */
import type { ChainVerification } from '../core/journal-entry.js';
import type { ConfigurationAuditLog, Device, Key, User } from '../tailnet/types.js';
import { checkPolicy, planRelease } from '../tailnet/policy/index.js';

export interface DrillFacts {
  runId: string;
  status: 'completed' | 'paused' | 'aborted';
  message: string | null;
  outputs: Record<string, unknown>;
  target: { nodeId: string; hostname: string; user: string; tags: string[] };
  /** Tags the drill asked the rebuilt device to carry (a user-owned device is rebuilt only with them). */
  rebuildTags?: string[];
  /** Keys the run revoked (tagged path) and the user it suspended (user path), from its outputs. */
  after: { devices: Device[]; users: User[]; keys: Key[]; policyText: string };
  audit: ConfigurationAuditLog[];
  journal: ChainVerification;
  evidence: { verified: boolean; detail: string } | undefined;
  /** Files of the run in which the minted auth key's secret was found (must be none). */
  secretLeaks: string[];
}

export interface ScoreItem {
  id: string;
  title: string;
  ok: boolean;
  detail: string;
}

export interface Scorecard {
  runId: string;
  passed: number;
  total: number;
  items: ScoreItem[];
}

export function scoreDrill(f: DrillFacts): Scorecard {
  const items: ScoreItem[] = [];
  const add = (id: string, title: string, ok: boolean, detail: string) => items.push({ id, title, ok, detail });
  const tagged = f.target.tags.length > 0;

  add('run-completed', 'The playbook ran to the end', f.status === 'completed', f.status === 'completed' ? 'completed' : `${f.status}: ${f.message ?? ''}`);

  const verify = f.outputs['verify-quarantine'] as { ok?: boolean } | undefined;
  add('quarantine-proven', 'Quarantine applied and proven by server and local tests', verify?.ok === true, verify ? 'policy tests passed on both' : 'the verify step did not run');

  if (tagged) {
    const revoked = f.after.keys.filter((k) => k.revoked || k.invalid);
    const out = f.outputs['revoke-keys'] as { revokedKeyIds?: string[] } | undefined;
    const wanted = out?.revokedKeyIds ?? [];
    const ok = wanted.length > 0 && wanted.every((id) => revoked.some((k) => k.id === id));
    add('identity-contained', 'The enrolling auth key(s) revoked', ok, ok ? `revoked ${wanted.join(', ')}` : 'no revoked key recorded');
  } else {
    const user = f.after.users.find((u) => u.loginName === f.target.user);
    add('identity-contained', `${f.target.user} suspended`, user?.status === 'suspended', `status: ${user?.status ?? 'user not found'}`);
  }

  add('evidence-verified', 'Evidence archive signed and verified (drill namespace)', f.evidence?.verified === true, f.evidence?.detail ?? 'no evidence archive');

  const old = f.after.devices.find((d) => d.nodeId === f.target.nodeId);
  add('old-device-deleted', 'Compromised node deleted', old === undefined, old ? `${f.target.nodeId} still present` : `${f.target.nodeId} gone`);

  // A tagged node is rebuilt by the run with a one-off tagged key. A user's device is rebuilt only
  // when the drill names rebuild tags (the API cannot mint a key owned by the suspended user);
  // otherwise its user re-enrols it after the investigation.
  const rebuildTags = f.rebuildTags?.length ? f.rebuildTags : tagged ? f.target.tags : undefined;
  if (rebuildTags) {
    const rebuilt = f.after.devices.find((d) => d.nodeId !== f.target.nodeId && (d.hostname === f.target.hostname || d.hostname.startsWith(`${f.target.hostname}-`)));
    const rebuiltOk = rebuilt !== undefined && [...(rebuilt.tags ?? [])].sort().join(',') === [...rebuildTags].sort().join(',');
    add('rebuilt', 'Rebuilt host re-enrolled with the right tags', rebuiltOk, rebuilt ? `${rebuilt.hostname} (${rebuilt.nodeId}) tags [${(rebuilt.tags ?? []).join(', ')}]` : 'no new device');
  }

  // What a release would still find: nothing, or only tests parked on purpose because their
  // source (e.g. the suspended user, now without a device) cannot pass them yet.
  const leftover = planRelease(f.after.policyText, f.runId, { inventory: { devices: f.after.devices, users: f.after.users } });
  const parked = leftover.stillParked.length;
  const liftedOk = leftover.regionsFound === parked;
  add(
    'quarantine-lifted',
    'Quarantine edits lifted after eradication',
    liftedOk,
    leftover.regionsFound === 0
      ? 'no marked region left'
      : liftedOk
        ? `lifted; ${parked} parked test(s) stay out until their source has a device again`
        : `${leftover.regionsFound - parked} marked region(s) remain`,
  );

  add('policy-tests', 'Final policy passes its tests', ...finalPolicyTests(f));

  const counted = ['SUSPEND', 'REVOKE', 'DELETE'].map((action) => ({ action, n: f.audit.filter((e) => e.action === action).length }));
  const keyCreates = f.audit.filter((e) => e.action === 'CREATE' && e.target.type === 'API_KEY').length;
  const expected: Record<string, number> = { SUSPEND: tagged ? 0 : 1, REVOKE: tagged ? Math.max(1, ((f.outputs['revoke-keys'] as { revokedKeyIds?: string[] } | undefined)?.revokedKeyIds ?? []).length) : 0, DELETE: 1 };
  const onceOk = counted.every((c) => c.n === expected[c.action]) && keyCreates === (rebuildTags ? 1 : 0);
  add('mutations-once', 'Every mutation happened exactly once', onceOk, [...counted.map((c) => `${c.action}×${c.n}`), `key CREATE×${keyCreates}`].join(', '));

  add('journal-intact', 'Journal hash chain verifies', f.journal.ok, f.journal.ok ? `${f.journal.entries} entries, head ${f.journal.head.slice(0, 12)}…` : `broken at line ${f.journal.firstBroken?.line}: ${f.journal.firstBroken?.reason}`);
  add('no-secret-leak', 'The minted auth key appears in no run file', f.secretLeaks.length === 0, f.secretLeaks.length ? `found in ${f.secretLeaks.join(', ')}` : 'not found in journal, snapshot, report or archive');

  return { runId: f.runId, passed: items.filter((i) => i.ok).length, total: items.length, items };
}

function finalPolicyTests(f: DrillFacts): [boolean, string] {
  try {
    const failures = checkPolicy(f.after.policyText, { devices: f.after.devices, users: f.after.users }).failures;
    if (failures.length === 0) return [true, 'all policy tests pass'];
    return [false, failures.flatMap((x) => (x.errors ?? []).map((e) => `${x.user}: ${e}`)).slice(0, 3).join('; ')];
  } catch (err) {
    return [false, `the final policy does not parse: ${(err as Error).message}`];
  }
}

export function renderScorecard(card: Scorecard, safe: (s: string) => string): string {
  const lines = [`Drill scorecard for run ${safe(card.runId)}: ${card.passed}/${card.total}`];
  for (const i of card.items) lines.push(`  ${i.ok ? 'PASS' : 'FAIL'}  ${i.title}: ${safe(i.detail)}`);
  return lines.join('\n');
}
