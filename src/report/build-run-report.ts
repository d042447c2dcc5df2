/**
 * `buildRunReport`: the journal (plus report.json, policy texts, the evidence manifest and the
 * chain check) → a `RunReport`. Pure: no I/O, no clock (the generation time is passed in).
 *
 * Steps are recognised by their *action* (from the journaled plan), never by step id, so any
 * playbook built from the same activities reports the same way.
 */
import { DateTime } from 'luxon';
import { parse as parseJsonc } from 'jsonc-parser';
import type { ChainVerification, JournalEntry } from '../core/journal-entry.js';
import type { RunRecord } from '../core/run.js';
import { canonicalJson } from '../core/json.js';
import { redactSecrets } from '../core/redact-secrets.js';
import type { EvidenceManifest } from '../evidence/manifest.js';
import {
  RUN_REPORT_SCHEMA,
  type ActionReport,
  type ApprovalEventReport,
  type ApprovalRef,
  type EradicationReport,
  type EvidenceReport,
  type IdentityReport,
  type IntegrityReport,
  type PolicyChangeReport,
  type ReportTime,
  type RunReport,
  type RunStatusReport,
  type TargetReport,
  type TimelineEvent,
  type TimelinePhase,
} from './run-report.js';

export interface SignatureInfo {
  namespace: string;
  signerFingerprint: string;
  keyType: string;
}

/** Everything the builder reads; the loader (`loadRunReportSources`) fills it from a run directory. */
export interface RunReportSources {
  runId: string;
  /** `run.json`, when readable. */
  record?: RunRecord | null;
  /** `journal.jsonl` entries that parsed (in order). */
  entries: readonly JournalEntry[];
  /** Result of the hash-chain check over the journal file. */
  chain: ChainVerification;
  /** Parsed `report.json` (`{runId, writtenAt, inputs, steps}`), when written. */
  reportJson?: unknown;
  /** Policy texts by artifact name (`policy/before.hujson`, `policy/quarantine-after.hujson`, `policy/release-after.hujson`). */
  policyTexts?: Readonly<Record<string, string>>;
  /** The evidence archive's manifest.json, when the archive was found and read. */
  manifest?: EvidenceManifest | null;
  manifestError?: string | null;
  /** Decoded from the archive's `.sig`. */
  signature?: SignatureInfo | null;
  generatedAt: Date;
  /**
   * Set when the report is written from inside the run by this step (`write-report`): the run
   * is finishing, not interrupted, so no resume command is offered.
   */
  writtenByStep?: string;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** `2026-03-01 10:00:00 UTC` (luxon, always UTC whatever the host's zone). */
export function reportTime(iso: string): ReportTime {
  // Date.parse reads every ISO-8601 form the journal uses and is far cheaper than luxon's
  // parser on long journals; luxon does the UTC formatting.
  const ms = Date.parse(iso);
  const t = Number.isFinite(ms) ? DateTime.fromMillis(ms, { zone: 'utc' }) : DateTime.fromISO(iso, { zone: 'utc' });
  return { iso, utc: t.isValid ? t.toUTC().toFormat("yyyy-MM-dd HH:mm:ss 'UTC'") : iso };
}

const timeOf = (e: JournalEntry | undefined): ReportTime | null => (e ? reportTime(e.time) : null);

/** The exact command that continues a paused run (flag names as the CLI defines them). */
export function resumeCommand(runId: string, approveStep?: string | null): string {
  return `tailnet-ir resume ${runId}${approveStep ? ` --approve ${approveStep}` : ''}`;
}

interface StepView {
  id: string;
  action: string | null;
  entries: JournalEntry[];
}

function stepViews(entries: readonly JournalEntry[]): Map<string, StepView> {
  const out = new Map<string, StepView>();
  for (const e of entries) {
    if (!e.step || isRunLevel(e.type)) continue;
    let v = out.get(e.step);
    if (!v) out.set(e.step, (v = { id: e.step, action: null, entries: [] }));
    v.entries.push(e);
    if (e.type === 'plan') v.action = str(obj(obj(e.data).plan).action) ?? v.action;
  }
  return out;
}

function isRunLevel(type: string): boolean {
  return type === 'run-started' || type === 'run-resumed' || type === 'run-paused' || type === 'run-completed' || type === 'run-aborted' || type === 'journal-recovered';
}

const last = <T>(xs: readonly T[], pred: (x: T) => boolean): T | undefined => {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i] as T)) return xs[i];
  return undefined;
};

function doneOf(v: StepView | undefined): JournalEntry | undefined {
  return v ? last(v.entries, (e) => e.type === 'done') : undefined;
}

function outputOf(v: StepView | undefined): Obj | undefined {
  const d = doneOf(v);
  return d ? obj(obj(d.data).output) : undefined;
}

function stepsByAction(views: Map<string, StepView>, action: string): StepView[] {
  return [...views.values()].filter((v) => v.action === action);
}

/** The step of `action` whose output counts: the last one that finished, else the last one seen. */
function mainStep(views: Map<string, StepView>, action: string): StepView | undefined {
  const all = stepsByAction(views, action);
  return last(all, (v) => doneOf(v) !== undefined) ?? all[all.length - 1];
}

// ---- timeline ---------------------------------------------------------------------------

const phaseOf: Record<string, TimelinePhase> = {
  'run-started': 'run',
  'run-resumed': 'run',
  'run-paused': 'run',
  'run-completed': 'run',
  'run-aborted': 'run',
  'journal-recovered': 'journal',
  plan: 'plan',
  'approval-requested': 'approval',
  approval: 'approval',
  'invariant-override': 'override',
  intent: 'apply',
  check: 'check',
  done: 'done',
  'step-skipped': 'skip',
  'step-retry': 'retry',
  'step-failed': 'failed',
};

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

function summarizeEntry(e: JournalEntry, action: string | null): string {
  const d = obj(e.data);
  switch (e.type) {
    case 'run-started': {
      const inputs = obj(d.inputs);
      return `run started: playbook ${str(d.playbookId) ?? '?'}, target ${JSON.stringify(str(inputs.target) ?? '?')}`;
    }
    case 'run-resumed':
      return `run resumed (was ${str(d.from) ?? '?'} at ${str(d.step) ?? '?'})`;
    case 'run-paused':
      return `run paused: ${firstLine(str(d.message) ?? '')}`;
    case 'run-aborted':
      return `run aborted: ${firstLine(str(d.message) ?? '')}`;
    case 'run-completed':
      return 'run completed';
    case 'journal-recovered':
      return 'a torn last journal line (crash mid-write) was cut off when the run was reopened';
    case 'plan': {
      const plan = obj(d.plan);
      const summary = strs(plan.summary);
      const n = Array.isArray(plan.mutations) ? plan.mutations.length : 0;
      const head = summary[0] ? firstLine(summary[0]) : `plan ${str(plan.action) ?? ''}`;
      return `planned${n ? ` ${n} change(s)` : ''}: ${head}${summary.length > 1 ? ` (+${summary.length - 1} more line(s))` : ''}`;
    }
    case 'approval-requested':
      return `approval requested: ${firstLine(str(d.prompt) ?? '')}`;
    case 'approval':
      return `${str(d.kind) === 'denied' ? 'DENIED' : 'approved'} by ${str(d.by) ?? '?'}: ${firstLine(str(d.reason) ?? '')}`;
    case 'invariant-override':
      return `INVARIANT OVERRIDDEN (${str(d.invariant) ?? '?'}): ${firstLine(str(d.reason) ?? '')}`;
    case 'intent': {
      const muts = Array.isArray(d.mutations) ? d.mutations.map((m) => str(obj(m).detail) ?? str(obj(m).kind) ?? '?') : [];
      return muts.length ? `applying: ${firstLine(muts.join('; '))}` : 'running (changes nothing in the tailnet)';
    }
    case 'check':
      return `checked whether it already took effect: ${d.done === true ? 'yes' : 'no'} (${firstLine(str(d.detail) ?? '')})`;
    case 'done':
      return summarizeOutput(action, obj(d.output));
    case 'step-skipped':
      return `skipped: ${firstLine(str(d.reason) ?? '')}`;
    case 'step-retry':
      return `retry (attempt ${num(d.attempt) ?? '?'}) after ${num(d.afterMs) ?? '?'} ms: ${firstLine(str(d.error) ?? '')}`;
    case 'step-failed':
      return `failed: ${firstLine(str(d.message) ?? '')}`;
    default:
      return e.type;
  }
}

function summarizeOutput(action: string | null, o: Obj): string {
  switch (action) {
    case 'tailnet-snapshot': {
      const dev = obj(o.device);
      const id = obj(o.identity);
      const path = str(id.kind) === 'user' ? `user-owned by ${str(id.loginName) ?? '?'}` : `tagged ${strs(id.tags).join(', ')}`;
      return `resolved ${str(dev.name) ?? '?'} (${str(dev.nodeId) ?? '?'}), ${path}; snapshot saved`;
    }
    case 'policy-quarantine':
      return 'quarantine applied to the tailnet policy';
    case 'release-quarantine':
      return 'quarantine released from the tailnet policy';
    case 'policy-verify':
      return 'policy tests pass on the server and in the local evaluator';
    case 'fetch-audit-logs':
      return `configuration audit log saved (${num(o.events) ?? '?'} events)`;
    case 'suspend-user':
      return `user ${str(o.userId) ?? '?'} suspended`;
    case 'revoke-auth-keys': {
      const ids = strs(o.revokedKeyIds);
      return ids.length ? `revoked auth key(s) ${ids.join(', ')}` : 'no auth key revoked';
    }
    case 'collect-evidence':
      return `collected ${num(o.artifacts) ?? '?'} artifact(s), ${num(o.bytes) ?? '?'} bytes${strs(o.failures).length ? `; ${strs(o.failures).length} collector failure(s)` : ''}`;
    case 'seal-evidence':
      return `archive sealed and signed (sha256 ${str(o.sha256) ?? '?'})`;
    case 'verify-evidence':
      return `archive verified: ${firstLine(str(o.detail) ?? '')}`;
    case 'delete-device':
      return `device ${str(o.deviceId) ?? '?'} deleted`;
    case 'recreate-device':
      return `one-off key ${str(o.keyId) ?? '(found on resume)'} minted and handed over; ${firstLine(str(o.enrolDetail) ?? '')}`;
    case 'wait-for-device': {
      const dev = obj(o.device);
      return `rebuilt device joined: ${str(dev.name) ?? '?'} (${str(dev.nodeId) ?? '?'})`;
    }
    case 'write-report':
      return 'report.json written';
    case 'expire-node-key':
      return `node key of ${str(o.deviceId) ?? '?'} expired`;
    case 'disable-routes':
      return `routes disabled: ${strs(o.disabledRoutes).join(', ') || 'none were enabled'}`;
    default:
      return 'done';
  }
}

function buildTimeline(entries: readonly JournalEntry[], views: Map<string, StepView>): TimelineEvent[] {
  return entries.map((e) => ({
    seq: e.seq,
    time: reportTime(e.time),
    step: e.step ?? null,
    phase: phaseOf[e.type] ?? 'run',
    type: e.type,
    summary: summarizeEntry(e, e.step ? (views.get(e.step)?.action ?? null) : null),
  }));
}

// ---- actions and approvals --------------------------------------------------------------

function planForDigest(v: StepView, digest: string): Obj | undefined {
  const p = last(v.entries, (e) => e.type === 'plan' && str(obj(e.data).digest) === digest);
  return p ? obj(obj(p.data).plan) : undefined;
}

function approvalBefore(v: StepView, seq: number): ApprovalRef | null {
  const a = last(v.entries, (e) => e.type === 'approval' && e.seq < seq);
  if (!a) return null;
  const d = obj(a.data);
  return {
    kind: str(d.kind) === 'denied' ? 'denied' : 'approved',
    by: str(d.by) ?? '?',
    at: reportTime(a.time),
    reason: str(d.reason) ?? '',
    planDigest: str(d.planDigest),
  };
}

function mutationsOf(v: unknown): ActionReport['mutations'] {
  return (Array.isArray(v) ? v : []).map((m) => ({ kind: str(obj(m).kind) ?? '?', target: str(obj(m).target) ?? '?', detail: str(obj(m).detail) ?? '' }));
}

/** One action per step that journaled an intent to change something (the latest intent). */
function buildActions(views: Map<string, StepView>): ActionReport[] {
  const out: ActionReport[] = [];
  for (const v of views.values()) {
    // The engine journals an intent for every applied step; only those that change something are actions.
    const intent = last(v.entries, (e) => e.type === 'intent' && Array.isArray(obj(e.data).mutations) && (obj(e.data).mutations as unknown[]).length > 0);
    if (!intent) continue;
    const done = doneOf(v);
    const digest = str(obj(intent.data).planDigest) ?? '';
    const plan = planForDigest(v, digest) ?? {};
    const after = v.entries.filter((e) => e.seq > intent.seq);
    const failed = last(after, (e) => e.type === 'step-failed');
    const doneAfter = done && done.seq > intent.seq ? done : undefined;
    // A resumed step whose check found the change already made: the done follows that check.
    const foundByCheck = doneAfter && after.some((e) => e.type === 'check' && obj(e.data).done === true && e.seq < doneAfter.seq);
    const override = last(v.entries, (e) => e.type === 'invariant-override');
    const diffLines = typeof obj(plan.data).diff === 'string' ? new Set(String(obj(plan.data).diff).split('\n')) : new Set<string>();
    out.push({
      step: v.id,
      action: v.action ?? str(plan.action) ?? '?',
      destructive: plan.destructive === true,
      // The diff lines the policy plans add to their summary are shown once, in policy changes.
      summary: strs(plan.summary).filter((l) => !diffLines.has(l)),
      warnings: strs(plan.warnings),
      mutations: mutationsOf(obj(intent.data).mutations ?? plan.mutations),
      planDigest: digest,
      approval: approvalBefore(v, intent.seq),
      override: override ? (str(obj(override.data).reason) ?? '') : null,
      outcome: doneAfter ? (foundByCheck ? 'already-in-effect' : 'applied') : failed ? 'failed' : 'not-finished',
      appliedAt: timeOf(doneAfter),
      error: !doneAfter && failed ? (str(obj(failed.data).message) ?? '') : null,
      attempts: 1 + after.filter((e) => e.type === 'step-retry').length,
    });
  }
  return out.sort((a, b) => firstSeq(views, a.step) - firstSeq(views, b.step));
}

function firstSeq(views: Map<string, StepView>, step: string): number {
  return views.get(step)?.entries[0]?.seq ?? 0;
}

function buildApprovals(entries: readonly JournalEntry[]): ApprovalEventReport[] {
  const out: ApprovalEventReport[] = [];
  for (const e of entries) {
    if (!e.step) continue;
    const d = obj(e.data);
    if (e.type === 'approval-requested') {
      const digest = str(d.planDigest);
      const answered = entries.some((x) => x.seq > e.seq && x.step === e.step && x.type === 'approval' && str(obj(x.data).planDigest) === digest);
      out.push({ seq: e.seq, at: reportTime(e.time), step: e.step, kind: 'requested', by: null, reason: str(d.prompt), planDigest: digest, invariant: null, answered });
    } else if (e.type === 'approval') {
      out.push({ seq: e.seq, at: reportTime(e.time), step: e.step, kind: str(d.kind) === 'denied' ? 'denied' : 'approved', by: str(d.by), reason: str(d.reason), planDigest: str(d.planDigest), invariant: null, answered: null });
    } else if (e.type === 'invariant-override') {
      out.push({ seq: e.seq, at: reportTime(e.time), step: e.step, kind: 'invariant-override', by: null, reason: str(d.reason), planDigest: null, invariant: str(d.invariant), answered: null });
    }
  }
  return out;
}

// ---- policy -----------------------------------------------------------------------------

const POLICY_FILES: Record<string, { before: string; after: string; kind: PolicyChangeReport['kind'] }> = {
  'policy-quarantine': { before: 'policy/before.hujson', after: 'policy/quarantine-after.hujson', kind: 'quarantine' },
  'release-quarantine': { before: 'policy/quarantine-after.hujson', after: 'policy/release-after.hujson', kind: 'release' },
};

/** `tests` and `sshTests` entries of a HuJSON policy, as canonical JSON; undefined if it does not parse. */
export function policyTestEntries(text: string): Set<string> | undefined {
  const errors: { error: number; offset: number; length: number }[] = [];
  const doc: unknown = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length || !isObj(doc)) return undefined;
  const out = new Set<string>();
  for (const field of ['tests', 'sshTests']) {
    const list = doc[field];
    if (Array.isArray(list)) for (const t of list) out.add(`${field === 'sshTests' ? 'sshTests ' : ''}${canonicalJson(t)}`);
  }
  return out;
}

function buildPolicyChanges(views: Map<string, StepView>, texts: Readonly<Record<string, string>>): PolicyChangeReport[] {
  const out: PolicyChangeReport[] = [];
  for (const v of views.values()) {
    const plans = v.entries.filter((e) => e.type === 'plan' && typeof obj(obj(obj(e.data).plan).data).diff === 'string');
    if (!plans.length) continue;
    const intent = last(v.entries, (e) => e.type === 'intent');
    const chosen = (intent && plans.find((p) => str(obj(p.data).digest) === str(obj(intent.data).planDigest))) ?? plans[plans.length - 1];
    const plan = obj(obj(chosen?.data).plan);
    const noChange = !Array.isArray(plan.mutations) || plan.mutations.length === 0;
    const done = doneOf(v);
    const failed = last(v.entries, (e) => e.type === 'step-failed');
    const files = v.action ? POLICY_FILES[v.action] : undefined;
    let testsAdded: string[] = [];
    let testsRemoved: string[] = [];
    let testsKnown = false;
    const before = files && texts[files.before];
    const after = files && texts[files.after];
    if (before !== undefined && after !== undefined && done) {
      const b = policyTestEntries(before);
      const a = policyTestEntries(after);
      if (a && b) {
        testsKnown = true;
        testsAdded = [...a].filter((t) => !b.has(t));
        testsRemoved = [...b].filter((t) => !a.has(t));
      }
    }
    out.push({
      step: v.id,
      action: v.action ?? '?',
      kind: files?.kind ?? 'edit',
      outcome: done ? (noChange ? 'no-change' : 'applied') : failed ? 'failed' : 'not-finished',
      at: timeOf(done),
      diff: str(obj(plan.data).diff) ?? '',
      testsAdded,
      testsRemoved,
      testsKnown,
      etag: str(outputOf(v)?.etag),
    });
  }
  return out;
}

// ---- identity, evidence, eradication ----------------------------------------------------

function buildIdentity(views: Map<string, StepView>): IdentityReport | null {
  const triage = outputOf(mainStep(views, 'tailnet-snapshot'));
  const id = obj(triage?.identity);
  if (str(id.kind) === 'user') {
    const step = mainStep(views, 'suspend-user');
    const done = doneOf(step);
    const skipped = step ? last(step.entries, (e) => e.type === 'step-skipped') : undefined;
    return {
      kind: 'user',
      userId: str(id.userId) ?? '?',
      loginName: str(id.loginName) ?? '?',
      statusAtTriage: str(id.status) ?? '?',
      suspended: obj(outputOf(step)).suspended === true,
      suspendedAt: timeOf(done),
      step: step?.id ?? null,
      skipped: skipped ? (str(obj(skipped.data).reason) ?? '') : null,
    };
  }
  if (str(id.kind) === 'tagged') {
    const step = mainStep(views, 'revoke-auth-keys');
    const skipped = step ? last(step.entries, (e) => e.type === 'step-skipped') : undefined;
    return {
      kind: 'tagged',
      tags: strs(id.tags),
      proposedKeyIds: strs(id.keyIds),
      revokedKeyIds: strs(outputOf(step)?.revokedKeyIds),
      revokedAt: timeOf(doneOf(step)),
      candidates: (Array.isArray(id.candidates) ? id.candidates : []).map((c) => {
        const o = obj(c);
        return {
          keyId: str(o.keyId) ?? '?',
          description: str(o.description) ?? '',
          created: str(o.created) ?? '',
          verdict: str(o.verdict) ?? '?',
          score: num(o.score) ?? 0,
          revoked: o.revoked === true,
          evidence: (Array.isArray(o.evidence) ? o.evidence : []).map((ev) => {
            const x = obj(ev);
            return { criterion: str(x.criterion) ?? '?', result: str(x.result) ?? '?', weight: num(x.weight) ?? 0, detail: str(x.detail) ?? '' };
          }),
        };
      }),
      step: step?.id ?? null,
      skipped: skipped ? (str(obj(skipped.data).reason) ?? '') : null,
    };
  }
  return null;
}

function buildEvidence(views: Map<string, StepView>, src: RunReportSources): EvidenceReport | null {
  const collect = stepsByAction(views, 'collect-evidence').map(outputOf).filter((o): o is Obj => o !== undefined);
  const collected = collect[collect.length - 1];
  const seal = outputOf(mainStep(views, 'seal-evidence'));
  const verifyStep = mainStep(views, 'verify-evidence');
  const verify = outputOf(verifyStep);
  const verifyFailed = verifyStep ? last(verifyStep.entries, (e) => e.type === 'step-failed') : undefined;
  const m = src.manifest ?? null;
  if (!collected && !seal && !verifyStep && !m) return null;
  const flagsOf = (a: EvidenceManifest['artifacts'][number]): string[] => {
    const f: string[] = [];
    if (a.error) f.push('failed');
    if (a.partial) f.push('partial');
    if (a.truncated) f.push('truncated');
    if (a.timedOut) f.push('timed out');
    if (a.exitCode !== null && a.exitCode !== 0) f.push(`exit ${a.exitCode}`);
    if (a.signal) f.push(`signal ${a.signal}`);
    return f;
  };
  return {
    archivePath: str(seal?.archivePath) ?? str(collected?.archivePath),
    signaturePath: str(seal?.signaturePath),
    sha256: str(seal?.sha256),
    verified: verify ? verify.verified === true : verifyFailed ? false : null,
    verifyDetail: verify ? str(verify.detail) : verifyFailed ? str(obj(verifyFailed.data).message) : null,
    signature: src.signature ?? null,
    artifactCount: m ? m.artifacts.length : num(collected?.artifacts),
    bytes: m ? m.artifacts.reduce((n, a) => n + a.bytes, 0) : num(collected?.bytes),
    collectorFailures: strs(collected?.failures),
    sealedExtras: strs(seal?.included),
    manifest: m
      ? {
          operator: m.operator,
          namespace: m.namespace,
          startedAt: m.startedAt,
          completedAt: m.completedAt,
          aborted: m.aborted,
          hosts: m.hosts.map((h) => ({ label: h.label, address: h.address, hostKeyFingerprint: h.hostKeyFingerprint, connected: h.connected, error: h.error ?? null })),
          collectors: m.collectors.map((c) => ({ host: c.host, collector: c.collector, status: c.status, reason: c.reason ?? null })),
          problemArtifacts: m.artifacts
            .map((a) => ({ path: a.path, host: a.host, collector: a.collector, problems: flagsOf(a), error: a.error ?? null }))
            .filter((a) => a.problems.length > 0),
          skipped: m.skipped.map((s) => ({ ...s })),
          attachments: m.attachments.length,
        }
      : null,
    manifestError: src.manifestError ?? null,
  };
}

function buildEradication(views: Map<string, StepView>): EradicationReport {
  const del = mainStep(views, 'delete-device');
  const delOut = outputOf(del);
  const rec = mainStep(views, 'recreate-device');
  const recOut = outputOf(rec);
  const waitOut = outputOf(mainStep(views, 'wait-for-device'));
  const dev = obj(waitOut?.device);
  const release = mainStep(views, 'release-quarantine');
  return {
    deleted: delOut && delOut.deleted === true ? { deviceId: str(delOut.deviceId) ?? '?', at: timeOf(doneOf(del)) } : null,
    recreated: recOut
      ? {
          keyId: str(recOut.keyId),
          tags: strs(recOut.tags),
          hostname: str(recOut.hostname) ?? '?',
          enrolMethod: str(recOut.enrolMethod) ?? '?',
          enrolDetail: str(recOut.enrolDetail) ?? '',
          at: timeOf(doneOf(rec)),
        }
      : null,
    newDevice: waitOut
      ? { nodeId: str(dev.nodeId) ?? '?', name: str(dev.name) ?? '?', hostname: str(dev.hostname) ?? '?', tags: strs(dev.tags), addresses: strs(dev.addresses) }
      : null,
    quarantineReleased: release ? obj(outputOf(release)).released === true : null,
  };
}

// ---- status, target, integrity, to-do ---------------------------------------------------

function buildStatus(runId: string, entries: readonly JournalEntry[], views: Map<string, StepView>, record: RunRecord | null | undefined, writtenByStep: string | undefined): RunStatusReport {
  const started = entries.find((e) => e.type === 'run-started');
  const end = last(entries, (e) => e.type === 'run-paused' || e.type === 'run-completed' || e.type === 'run-aborted' || e.type === 'run-resumed');
  const resumes = entries.filter((e) => e.type === 'run-resumed').length;
  const base = { startedAt: timeOf(started), resumes };
  if (!end || end.type === 'run-resumed') {
    // No final entry after the last (re)start: the process is still driving it, or died.
    const current = last(entries, (e) => e.step !== undefined && !isRunLevel(e.type));
    const step = current?.step ?? record?.currentStep ?? null;
    if (writtenByStep)
      return { ...base, state: 'finishing', step: writtenByStep, reason: `written by the run's own ${writtenByStep} step, after every earlier step; \`tailnet-ir report ${runId}\` shows the final status`, resumeCommand: null, waitingFor: null, exitCode: null, endedAt: null };
    return { ...base, state: 'in-progress', step, reason: 'the journal has no pause, abort or completion after the last start: the run is being driven now, or its process died', resumeCommand: resumeCommand(runId), waitingFor: null, exitCode: null, endedAt: null };
  }
  const d = obj(end.data);
  const exitCode = num(d.exitCode);
  if (end.type === 'run-completed') return { ...base, state: 'completed', step: null, reason: null, resumeCommand: null, waitingFor: null, exitCode, endedAt: timeOf(end) };
  const step = end.step ?? record?.currentStep ?? null;
  const reason = str(d.message) ?? record?.message ?? null;
  if (end.type === 'run-aborted') return { ...base, state: 'aborted', step, reason, resumeCommand: null, waitingFor: null, exitCode, endedAt: timeOf(end) };
  const v = step ? views.get(step) : undefined;
  const lastOfStep = v?.entries.filter((e) => e.seq < end.seq).at(-1);
  const pendingApproval = lastOfStep?.type === 'approval-requested';
  return {
    ...base,
    state: 'paused',
    step,
    reason,
    resumeCommand: resumeCommand(runId, pendingApproval ? step : null),
    waitingFor: pendingApproval ? 'approval' : 'operator',
    exitCode,
    endedAt: timeOf(end),
  };
}

function buildTarget(views: Map<string, StepView>, inputs: Obj, manifest: EvidenceManifest | null | undefined): TargetReport {
  const dev = obj(outputOf(mainStep(views, 'tailnet-snapshot'))?.device);
  const mt = manifest?.target;
  return {
    input: str(inputs.target),
    nodeId: str(dev.nodeId) ?? mt?.deviceId ?? null,
    name: str(dev.name) ?? mt?.name ?? null,
    hostname: str(dev.hostname),
    addresses: strs(dev.addresses).length ? strs(dev.addresses) : (mt?.addresses ?? []),
    tags: strs(dev.tags),
    owner: str(dev.user),
    os: str(dev.os),
  };
}

function buildIntegrity(chain: ChainVerification, entries: readonly JournalEntry[]): IntegrityReport {
  return {
    ok: chain.ok,
    entries: chain.entries,
    head: chain.head,
    firstBroken: chain.firstBroken ? { line: chain.firstBroken.line, seq: chain.firstBroken.seq ?? null, reason: chain.firstBroken.reason } : null,
    recoveredTornLines: entries.filter((e) => e.type === 'journal-recovered').length,
  };
}

function buildTodo(r: Omit<RunReport, 'todo'>, views: Map<string, StepView>): string[] {
  const todo: string[] = [];
  const { status } = r;
  if (!r.integrity.ok)
    todo.push(`The journal's hash chain is broken at line ${r.integrity.firstBroken?.line ?? '?'}: treat this report as unverified, keep the run directory as is and investigate (\`tailnet-ir journal verify ${r.runId}\`).`);
  if (status.state === 'paused')
    todo.push(
      status.waitingFor === 'approval'
        ? `Review the plan waiting at ${status.step} (\`tailnet-ir runs show ${r.runId}\`), then approve and continue: \`${status.resumeCommand}\`.`
        : `Fix what stopped ${status.step ?? 'the run'} (see the reason above), then continue: \`${status.resumeCommand}\`.`,
    );
  if (status.state === 'in-progress' && status.resumeCommand) todo.push(`If no process is driving the run any more, continue it: \`${status.resumeCommand}\`.`);
  if (status.state === 'aborted') todo.push('The run was aborted and is final: finish the remaining containment by hand or start a new run (this run\'s journal and artifacts are kept).');
  const quarantined = r.policyChanges.some((p) => p.kind === 'quarantine' && (p.outcome === 'applied' || p.outcome === 'no-change'));
  if (status.state !== 'completed' && !quarantined) todo.push('The node is not quarantined by this run: its outgoing tailnet access is unchanged.');
  const id = r.identity;
  if (id?.kind === 'user' && !id.suspended && !id.skipped) todo.push(`User ${id.loginName} is not suspended yet.`);
  if (id?.kind === 'user' && id.suspended)
    todo.push(`User ${id.loginName} stays suspended: after their other devices are checked, restore the account in the admin console when it is safe.`);
  if (id?.kind === 'tagged') {
    if (id.proposedKeyIds.length === 0) todo.push('No auth key was ranked likely to have enrolled the device: review the candidates below and revoke by hand if needed.');
    else if (id.revokedKeyIds.length === 0 && !id.skipped) todo.push(`Auth key(s) ${id.proposedKeyIds.join(', ')} are not revoked yet.`);
  }
  if (!r.evidence && status.state !== 'completed') todo.push('No evidence was collected by this run.');
  if (r.evidence?.verified === false) todo.push('The evidence archive did not verify: re-seal it and verify before relying on it.');
  if (r.evidence && r.evidence.verified === null && status.state !== 'completed') todo.push('The evidence archive has not been verified yet.');
  const problems = r.evidence?.manifest?.problemArtifacts.length ?? 0;
  const failures = r.evidence?.collectorFailures.length ?? 0;
  if (problems || failures)
    todo.push(`Evidence is incomplete (${problems} artifact(s) failed or were cut short, ${failures} collector failure(s); listed under Evidence): decide whether to collect them again by hand.`);
  for (const d of r.approvals.filter((a) => a.kind === 'denied')) todo.push(`Step ${d.step} was denied by ${d.by ?? '?'} (${d.reason ?? ''}): that change was not made.`);
  if (r.approvals.some((a) => a.kind === 'invariant-override')) todo.push('An engine invariant was overridden (see Approvals): record the justification in the incident ticket.');
  const deleteStep = mainStep(views, 'delete-device');
  if (!r.eradication.deleted && (deleteStep || status.state !== 'completed')) todo.push('The compromised device has not been deleted from the tailnet.');
  if (r.eradication.recreated && !r.eradication.newDevice) todo.push(`The rebuilt host ${r.eradication.recreated.hostname} has not been seen joining the tailnet yet.`);
  if (quarantined && r.eradication.quarantineReleased !== true && r.eradication.deleted) todo.push('The quarantine edits naming the old node are still in the policy: release them once the node is gone.');
  if (quarantined && r.eradication.quarantineReleased !== true && !r.eradication.deleted && status.state !== 'completed')
    todo.push('The quarantine edits are still in the tailnet policy: keep them while the node exists, and release them once it is deleted.');
  if (r.eradication.newDevice) todo.push(`Check the rebuilt device ${r.eradication.newDevice.name} (${r.eradication.newDevice.nodeId}) before returning it to service.`);
  todo.push('Rotate any credentials the node could read (service tokens, SSH keys, cloud credentials) and review the audit log for activity from it.');
  return todo;
}

function collectOperators(approvals: ApprovalEventReport[], manifest: EvidenceManifest | null | undefined): string[] {
  const out = new Set<string>();
  for (const a of approvals) if (a.by) out.add(a.by);
  if (manifest?.operator) out.add(manifest.operator);
  return [...out];
}

/** Build the report. Inputs are redacted first, and the result again: no secret survives. */
export function buildRunReport(sources: RunReportSources): RunReport {
  const { generatedAt, ...rest } = sources;
  const src = { ...redactSecrets(rest), generatedAt };
  const entries = [...src.entries].sort((a, b) => a.seq - b.seq);
  const views = stepViews(entries);
  const started = entries.find((e) => e.type === 'run-started');
  const startData = obj(started?.data);
  const reportJson = obj(src.reportJson);
  const inputs = isObj(startData.inputs) ? startData.inputs : isObj(reportJson.inputs) ? reportJson.inputs : obj(src.record?.inputs);
  const approvals = buildApprovals(entries);
  const partial: Omit<RunReport, 'todo'> = {
    schema: RUN_REPORT_SCHEMA,
    runId: src.runId,
    generatedAt: reportTime(src.generatedAt.toISOString()),
    playbook: {
      id: str(startData.playbookId) ?? src.record?.playbookId ?? null,
      sha256: str(startData.playbookSha256) ?? src.record?.playbookSha256 ?? null,
      toolVersion: str(startData.toolVersion) ?? src.record?.toolVersion ?? null,
    },
    inputs,
    target: buildTarget(views, inputs, src.manifest),
    operators: collectOperators(approvals, src.manifest),
    status: buildStatus(src.runId, entries, views, src.record, src.writtenByStep),
    timeline: buildTimeline(entries, views),
    actions: buildActions(views),
    approvals,
    policyChanges: buildPolicyChanges(views, src.policyTexts ?? {}),
    identity: buildIdentity(views),
    evidence: buildEvidence(views, src),
    eradication: buildEradication(views),
    integrity: buildIntegrity(src.chain, entries),
  };
  return redactSecrets({ ...partial, todo: buildTodo(partial, views) });
}
