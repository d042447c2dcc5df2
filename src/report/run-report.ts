/**
 * The report of one run, as data: what the Markdown and HTML renderers print and what
 * `tailnet-ir report --format json` emits. Built purely from the journal and the run's
 * artifacts (`buildRunReport`); every string in it that came from the tailnet or the node is
 * still hostile and is escaped by the renderer for its medium.
 */

export const RUN_REPORT_SCHEMA = 'tailnet-ir/run-report@1';

/** `finishing`: written by the run's own report step, after every earlier step ran. */
export type RunState = 'completed' | 'paused' | 'aborted' | 'in-progress' | 'finishing';

export interface ReportTime {
  /** ISO-8601 as journaled. */
  iso: string;
  /** `yyyy-MM-dd HH:mm:ss 'UTC'` for people; the raw text when it does not parse. */
  utc: string;
}

export interface RunStatusReport {
  state: RunState;
  /** Step the run stopped at (paused/aborted) or was on (in-progress). */
  step: string | null;
  /** Why it paused or aborted, as the engine said it. */
  reason: string | null;
  /** Paused (or interrupted): the exact command that continues the run. */
  resumeCommand: string | null;
  /** Paused: what it waits for. */
  waitingFor: 'approval' | 'operator' | null;
  exitCode: number | null;
  startedAt: ReportTime | null;
  endedAt: ReportTime | null;
  /** How often the run was resumed. */
  resumes: number;
}

export interface TargetReport {
  /** What the responder typed. */
  input: string | null;
  nodeId: string | null;
  name: string | null;
  hostname: string | null;
  addresses: string[];
  tags: string[];
  owner: string | null;
  os: string | null;
}

export type TimelinePhase = 'run' | 'plan' | 'approval' | 'override' | 'apply' | 'check' | 'done' | 'skip' | 'retry' | 'failed' | 'journal';

export interface TimelineEvent {
  seq: number;
  time: ReportTime;
  step: string | null;
  phase: TimelinePhase;
  /** The journal entry type. */
  type: string;
  summary: string;
}

export interface ApprovalRef {
  kind: 'approved' | 'denied';
  by: string;
  at: ReportTime;
  reason: string;
  /** The approval digest (the plan without volatile data such as an ETag). */
  planDigest: string | null;
}

export interface MutationReport {
  kind: string;
  target: string;
  detail: string;
}

export interface ActionReport {
  step: string;
  action: string;
  destructive: boolean;
  /** The plan's printable summary (policy diffs are in `policyChanges`). */
  summary: string[];
  warnings: string[];
  mutations: MutationReport[];
  /** Digest of the exact plan that was applied (the intent's). */
  planDigest: string;
  approval: ApprovalRef | null;
  /** Evidence invariant overridden for this step (reason). */
  override: string | null;
  outcome: 'applied' | 'already-in-effect' | 'failed' | 'not-finished';
  appliedAt: ReportTime | null;
  /** Failure message when the outcome is failed. */
  error: string | null;
  attempts: number;
}

export interface ApprovalEventReport {
  seq: number;
  at: ReportTime;
  step: string;
  kind: 'requested' | 'approved' | 'denied' | 'invariant-override';
  by: string | null;
  reason: string | null;
  planDigest: string | null;
  /** invariant-override: which invariant was lifted. */
  invariant: string | null;
  /** requested: whether an approval or denial followed. */
  answered: boolean | null;
}

export interface PolicyChangeReport {
  step: string;
  action: string;
  kind: 'quarantine' | 'release' | 'edit';
  outcome: 'applied' | 'no-change' | 'failed' | 'not-finished';
  at: ReportTime | null;
  diff: string;
  /** Policy `tests` / `sshTests` entries present after the edit and not before (canonical JSON). */
  testsAdded: string[];
  testsRemoved: string[];
  /** Whether the before/after texts were available to compute the test changes. */
  testsKnown: boolean;
  etag: string | null;
}

export interface KeyCandidateReport {
  keyId: string;
  description: string;
  created: string;
  verdict: string;
  score: number;
  revoked: boolean;
  evidence: { criterion: string; result: string; weight: number; detail: string }[];
}

export type IdentityReport =
  | {
      kind: 'user';
      userId: string;
      loginName: string;
      statusAtTriage: string;
      suspended: boolean;
      suspendedAt: ReportTime | null;
      step: string | null;
      skipped: string | null;
    }
  | {
      kind: 'tagged';
      tags: string[];
      /** Keys triage ranked likely (proposed for revocation). */
      proposedKeyIds: string[];
      revokedKeyIds: string[];
      revokedAt: ReportTime | null;
      candidates: KeyCandidateReport[];
      step: string | null;
      skipped: string | null;
    };

export interface ArtifactProblem {
  path: string;
  host: string;
  collector: string;
  problems: string[];
  error: string | null;
}

export interface EvidenceReport {
  archivePath: string | null;
  signaturePath: string | null;
  sha256: string | null;
  verified: boolean | null;
  verifyDetail: string | null;
  signature: { namespace: string; signerFingerprint: string; keyType: string } | null;
  /** From the collect step (or the manifest when present). */
  artifactCount: number | null;
  bytes: number | null;
  collectorFailures: string[];
  /** Files the engine sealed next to the evidence (journal, policy, inventory, audit log). */
  sealedExtras: string[];
  manifest: {
    operator: string;
    namespace: string;
    startedAt: string;
    completedAt: string;
    aborted: boolean;
    hosts: { label: string; address: string; hostKeyFingerprint: string | null; connected: boolean; error: string | null }[];
    collectors: { host: string; collector: string; status: string; reason: string | null }[];
    problemArtifacts: ArtifactProblem[];
    skipped: { host: string; collector: string; name: string; reason: string }[];
    attachments: number;
  } | null;
  /** Why the manifest could not be read, when an archive was expected. */
  manifestError: string | null;
}

export interface EradicationReport {
  deleted: { deviceId: string; at: ReportTime | null } | null;
  recreated: { keyId: string | null; tags: string[]; hostname: string; enrolMethod: string; enrolDetail: string; at: ReportTime | null } | null;
  newDevice: { nodeId: string; name: string; hostname: string; tags: string[]; addresses: string[] } | null;
  quarantineReleased: boolean | null;
}

export interface IntegrityReport {
  ok: boolean;
  entries: number;
  /** Verified chain head: SHA-256 of the last good line. */
  head: string;
  firstBroken: { line: number; seq: number | null; reason: string } | null;
  /** A torn line cut off on open (crash mid-append), as journaled. */
  recoveredTornLines: number;
}

export interface RunReport {
  schema: typeof RUN_REPORT_SCHEMA;
  runId: string;
  generatedAt: ReportTime;
  playbook: { id: string | null; sha256: string | null; toolVersion: string | null };
  inputs: Record<string, unknown>;
  target: TargetReport;
  operators: string[];
  status: RunStatusReport;
  timeline: TimelineEvent[];
  actions: ActionReport[];
  approvals: ApprovalEventReport[];
  policyChanges: PolicyChangeReport[];
  identity: IdentityReport | null;
  evidence: EvidenceReport | null;
  eradication: EradicationReport;
  integrity: IntegrityReport;
  todo: string[];
}
