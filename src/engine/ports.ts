/**
 * The ports: every effect an activity has goes through one of these interfaces, passed in by
 * whoever starts the run (CLI, pager, drill, tests). Keep them small; adapters for the policy
 * and evidence modules live with the integrator.
 */
import type { RebuildMethod } from '../core/rebuild-config.js';
import type { Clock } from '../core/clock.js';
import type { JsonValue } from '../core/json.js';
import type { Device, PolicyTest, User } from '../tailnet/types.js';
import type { TailnetApi } from '../tailnet/tailnet-api.js';

export type { Clock, TailnetApi };

// ---- policy -----------------------------------------------------------------------------

export interface QuarantineRequest {
  runId: string;
  policyText: string;
  device: Device;
  devices: Device[];
  users: User[];
  /** Who must keep inbound SSH to the node (users, groups, tags), from config. */
  responders: string[];
  /** Destinations the node must be denied (`host:port`), pinned as tests. */
  highRiskResources: string[];
}

/** A policy edit, ready to POST; computed purely from text + inventory. */
export interface PolicyEditPlan {
  newText: string;
  /** Unified diff for the approver. */
  diff: string;
  /** Blast radius and other lines to show. */
  summary: string[];
  /** Tests the edit adds to the policy (pin the quarantine). */
  addedTests: PolicyTest[];
  /** Opaque record `planRelease` needs to lift exactly this edit later; JSON. */
  releaseRecord: JsonValue;
}

export interface ReleaseRequest {
  runId: string;
  policyText: string;
  releaseRecord: JsonValue;
  /** Node ids the edit named that no longer exist / have been replaced. */
  devices: Device[];
  /** The tailnet's users, so the release's test check resolves role autogroups (autogroup:admin, …). */
  users?: User[];
}

export interface PolicyCheckResult {
  ok: boolean;
  /** One line per failure, e.g. `address "x:22": want: Accept, got: Drop`. */
  failures: string[];
}

export interface PolicyPlanner {
  planQuarantine(request: QuarantineRequest): Promise<PolicyEditPlan>;
  planRelease(request: ReleaseRequest): Promise<PolicyEditPlan>;
  /** Local evaluator: runs the policy's own tests against its rules. */
  checkPolicy(policyText: string, devices: Device[], users: User[]): Promise<PolicyCheckResult>;
  /**
   * Engine invariant hook: does `newText` still give every responder inbound SSH (tcp/22) to
   * the node? The engine refuses to apply any policy edit for which this is not ok.
   */
  checkResponderAccess(newText: string, device: Device, responders: string[], devices: Device[], users: User[]): Promise<PolicyCheckResult>;
}

// ---- evidence ---------------------------------------------------------------------------

/** How the collector reaches the node; decided before the identity step (issue: never mid-way). */
export interface CollectionRoute {
  /** Address to SSH to. */
  address: string;
  port?: number;
  user?: string;
  /** `tailnet` depends on the node's tailnet access; `out-of-band` does not. */
  path: 'tailnet' | 'out-of-band';
  /** The jump host as `user@host:port`, for plans and messages. */
  via?: string;
  /** The jump host the connection goes through (absent: direct). */
  jump?: { address: string; port: number; user: string };
}

export interface CollectionResult {
  archivePath: string;
  artifacts: number;
  bytes: number;
  /** Collectors that failed; collection continues past them and records it. */
  failures: string[];
}

export interface SealResult {
  archivePath: string;
  signaturePath: string;
  sha256: string;
}

export interface EvidenceVerification {
  ok: boolean;
  detail: string;
}

export interface EvidenceCollector {
  routeFor(device: Device): Promise<CollectionRoute>;
  /**
   * Streams the node's artifacts into a new archive and closes it with `attachments` (the run's
   * journal so far and the tailnet artifacts: audit log for the window, policy before/after,
   * inventory snapshots) and the manifest.
   */
  collect(request: {
    runId: string;
    device: Device;
    route: CollectionRoute;
    signal: AbortSignal;
    progress: ProgressSink;
    attachments?: { journalPath: string; extraFiles: { name: string; path: string }[] };
  }): Promise<CollectionResult>;
  /** Signs the finished archive (detached SSHSIG) and returns where the signature is. */
  seal(request: { runId: string; archivePath: string; journalPath: string; extraFiles: { name: string; path: string }[] }): Promise<SealResult>;
  verify(request: { archivePath: string; signaturePath: string }): Promise<EvidenceVerification>;
}

// ---- re-enrolment -----------------------------------------------------------------------

/** How the rebuilt host will receive the key, for the plan: shown before anything is minted. */
export interface RebuildDescription {
  method: RebuildMethod;
  /** What will be done and where (host, jump, directory…): part of the approved plan, compared again before minting. */
  summary: string[];
  warnings: string[];
  /** Why the hand-over cannot work right now (e.g. no terminal for a manual key): refused before any key is minted. */
  blocked?: string;
}

export interface EnrolRequest {
  runId: string;
  oldDevice: Device;
  authKey: string;
  tags: string[];
  /** When the key expires (ISO time). */
  expires: string;
  /** The method the approved plan named; `describe` chose it from the configuration. */
  method: RebuildMethod;
}

/**
 * Hands a freshly minted auth key to the rebuilt host (SSH with the key on stdin, a sidecar's
 * `.env`, or printed once for a manual rebuild). The key exists only in this call's argument.
 */
export interface HostEnroller {
  /** Which method serves this device and what it will do; `override` is the run's choice (else the configuration's). */
  describe(oldDevice: Device, override?: RebuildMethod): Promise<RebuildDescription>;
  enrol(request: EnrolRequest): Promise<{ method: string; detail: string }>;
}

// ---- approvals --------------------------------------------------------------------------

export interface ApprovalRequest {
  runId: string;
  stepId: string;
  action: string;
  destructive: boolean;
  prompt: string;
  summary: string[];
  /** Digest of the plan being approved: an approval is for this plan only. */
  planDigest: string;
}

export type ApprovalDecision =
  | { kind: 'approved'; by: string; reason: string }
  | { kind: 'denied'; by: string; reason: string }
  | { kind: 'pending'; message: string };

export interface Approver {
  decide(request: ApprovalRequest): Promise<ApprovalDecision>;
}

// ---- run artifacts and progress ---------------------------------------------------------

/** Files of this run other than snapshot and journal (policy before/after, inventories). */
export interface ArtifactStore {
  /** Atomically write `name` (relative, no `..`) in the run directory; returns its path. */
  write(name: string, content: string | Uint8Array): Promise<string>;
  read(name: string): Promise<string | undefined>;
  /** Absolute path of an artifact if it exists. */
  pathOf(name: string): Promise<string | undefined>;
  /** Absolute path of the run's journal (the sealer copies it into the archive). */
  journalPath(): string;
}

export interface ProgressEvent {
  runId: string;
  stepId?: string;
  phase: 'plan' | 'approval' | 'apply' | 'check' | 'skip' | 'retry' | 'pause' | 'done' | 'info';
  message: string;
}

export interface ProgressSink {
  (event: ProgressEvent): void;
}

/** Everything an activity may touch. */
export interface Ports {
  tailnet: TailnetApi;
  policy: PolicyPlanner;
  evidence: EvidenceCollector;
  enroller: HostEnroller;
  clock: Clock;
  artifacts: ArtifactStore;
  progress: ProgressSink;
}
