/**
 * The collector runner: connect to each host, run the collectors' commands, stream every
 * artifact into the archive while hashing it, write manifest.json, optionally sign, then check
 * the sealed archive before returning (quickly from the recorded layout, or fully on request). All I/O edges (connector, clock, signer, progress sink)
 * are passed in, so the playbook engine, the CLI and the drill share this function.
 *
 * Failures are recorded, not fatal: a failing or timed-out command is noted and the rest go on;
 * a dropped connection marks the artifact partial, reconnects once per host, and continues.
 */
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { DateTime } from 'luxon';
import { toolVersion } from '../core/version.js';
import { readFile } from 'node:fs/promises';
import { EvidenceArchiveWriter, type ArchiveLayout } from './archive-writer.js';
import { checkSealedArchive } from './sealed-archive-check.js';
import { substitute, type ArtifactSpec, type CollectorCondition, type CollectorDefinition } from './collector-schema.js';
import { parseInspect, selectExportTargets, sidecarComposeDirs, type ContainerSummary } from './container-inventory.js';
import { artifactEntryPath } from './entry-names.js';
import {
  MANIFEST_PATH,
  MANIFEST_SCHEMA,
  type ArtifactRecord,
  type AttachmentRecord,
  type CollectorOutcome,
  type EvidenceManifest,
  type HostRecord,
} from './manifest.js';
import { redactLine, SecretRedactor } from './redact-secrets.js';
import type { CommandResult, HostTarget, RemoteConnector, RemoteHost } from './remote-command.js';
import { EVIDENCE_NAMESPACE, signArchive, verifyFileSignature, type Ed25519Signer } from './sshsig.js';
import { verifyArchive, type VerifyProblem } from './verify-archive.js';
import { CheckFailedError } from '../core/errors.js';

export type CollectProgress =
  | { type: 'host'; host: string; state: 'connecting' | 'connected' | 'reconnecting' | 'failed'; detail?: string }
  | { type: 'artifact-start'; host: string; collector: string; name: string }
  | { type: 'artifact-bytes'; host: string; collector: string; name: string; bytes: number }
  | { type: 'artifact-done'; record: ArtifactRecord }
  | { type: 'skipped'; host: string; collector: string; name: string; reason: string }
  | { type: 'sealing' };

export interface CollectRunInfo {
  runId: string;
  caseId?: string | undefined;
  operator: string;
  target: { deviceId?: string | undefined; name?: string | undefined; addresses?: string[] | undefined };
}

export interface CollectEvidenceOptions {
  connector: RemoteConnector;
  collectors: readonly CollectorDefinition[];
  hosts: readonly HostTarget[];
  archivePath: string;
  run: CollectRunInfo;
  /** Incident window for log collectors ({since}/{until}); default: the last 24 hours. */
  window?: { since: Date; until: Date };
  /** Overrides of collector variables (e.g. stateDir). */
  variables?: Readonly<Record<string, string>>;
  /** Containers the run names for export; compose directories of sidecar deployments. */
  containers?: readonly string[];
  composeDirs?: readonly string[];
  includeSensitive?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: CollectProgress) => void;
  now?: () => Date;
  /** Signature namespace: evidence, or drill. */
  namespace?: string;
  signer?: Ed25519Signer;
  /** Files the engine adds (journal.jsonl, policy/…), fetched just before sealing. */
  attachments?: () => Promise<ReadonlyArray<{ path: string; data: Buffer | string }>>;
  compressionLevel?: number;
  /**
   * How to check the sealed archive before returning. `quick` (default): from the layout
   * recorded while writing — every header and the manifest read back from disk, the manifest's
   * hashes matched against what was streamed, the signature verified over the file — without
   * inflating the artifacts again. `full`: the independent `verifyArchive` pass, which re-reads
   * and inflates everything (as the engine's verify step and `tailnet-ir verify` do anyway).
   */
  selfCheck?: 'quick' | 'full';
}

export interface CollectEvidenceResult {
  manifest: EvidenceManifest;
  archivePath: string;
  signaturePath?: string;
  /** Which self-check the sealed archive passed. */
  selfCheck: 'quick' | 'full';
}

const CONTROL_TIMEOUT_MS = 20_000;
const LIST_CAP_BYTES = 8 * 1024 * 1024;
const PROGRESS_EVERY_MS = 500;

class CollectingSink extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {
    super();
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    if (this.size < this.cap) {
      this.chunks.push(chunk.subarray(0, this.cap - this.size));
      this.size += Math.min(chunk.length, this.cap - this.size);
    }
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const iso = (d: Date) => DateTime.fromJSDate(d).toUTC().toISO() ?? d.toISOString();
/** The `since`/`until` format journalctl and the collectors take. */
export const journalTime = (d: Date) => `${DateTime.fromJSDate(d).toUTC().toFormat('yyyy-MM-dd HH:mm:ss')} UTC`;

/** One host's connection, with a single reconnect after a drop. */
class HostSession {
  host: RemoteHost | undefined;
  reconnects = 0;
  private readonly conditionCache = new Map<string, boolean>();
  inventory: ContainerSummary[] | undefined;
  readonly listings = new Map<string, string>();

  constructor(
    readonly target: HostTarget,
    private readonly connector: RemoteConnector,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async connect(): Promise<RemoteHost> {
    this.host = await this.connector.connect(this.target, this.signal);
    return this.host;
  }

  /** After a lost connection: reconnect once. Returns false when that was already used. */
  async reconnectOnce(onProgress: (e: CollectProgress) => void): Promise<boolean> {
    if (this.reconnects >= 1) return false;
    this.reconnects++;
    onProgress({ type: 'host', host: this.target.label, state: 'reconnecting' });
    await this.host?.close().catch(() => undefined);
    try {
      await this.connect();
      onProgress({ type: 'host', host: this.target.label, state: 'connected', detail: 'reconnected' });
      return true;
    } catch (err) {
      this.host = undefined;
      onProgress({ type: 'host', host: this.target.label, state: 'failed', detail: (err as Error).message });
      return false;
    }
  }

  async runQuiet(argv: string[], capBytes = LIST_CAP_BYTES): Promise<{ result: CommandResult; text: string }> {
    if (!this.host?.connected) throw new Error('not connected');
    const sink = new CollectingSink(capBytes);
    const result = await this.host.run(
      { argv, timeoutMs: CONTROL_TIMEOUT_MS, maxBytes: capBytes, ...(this.signal ? { signal: this.signal } : {}) },
      sink,
    );
    return { result, text: sink.text() };
  }

  async condition(cond: CollectorCondition, vars: Record<string, string>): Promise<boolean> {
    const argv =
      'commandExists' in cond
        ? ['sh', '-c', 'command -v -- "$1" >/dev/null 2>&1', 'sh', substitute(cond.commandExists, vars)]
        : ['test', '-e', substitute(cond.pathExists, vars)];
    const key = argv.join('\0');
    const cached = this.conditionCache.get(key);
    if (cached !== undefined) return cached;
    const { result } = await this.runQuiet(argv, 1024);
    const ok = result.exitCode === 0;
    if (!result.connectionLost) this.conditionCache.set(key, ok);
    return ok;
  }
}

export async function collectEvidence(options: CollectEvidenceOptions): Promise<CollectEvidenceResult> {
  const now = options.now ?? (() => new Date());
  const emit = options.onProgress ?? (() => undefined);
  const startedAt = now();
  const window = options.window ?? { since: new Date(startedAt.getTime() - 24 * 3600_000), until: startedAt };
  const writer = await EvidenceArchiveWriter.create(options.archivePath, {
    mtime: startedAt,
    ...(options.compressionLevel !== undefined ? { compressionLevel: options.compressionLevel } : {}),
  });

  const artifacts: ArtifactRecord[] = [];
  const skipped: EvidenceManifest['skipped'] = [];
  const outcomes: CollectorOutcome[] = [];
  const hostRecords: HostRecord[] = [];

  try {
    for (const target of options.hosts) {
      const session = new HostSession(target, options.connector, options.signal);
      const record: HostRecord = {
        label: target.label,
        address: target.address,
        port: target.port,
        user: target.user,
        hostKeyFingerprint: null,
        hostKeyType: null,
        connected: false,
        reconnects: 0,
      };
      hostRecords.push(record);
      if (options.signal?.aborted) break;
      emit({ type: 'host', host: target.label, state: 'connecting' });
      try {
        const host = await session.connect();
        record.connected = true;
        record.hostKeyFingerprint = host.identity.hostKeyFingerprint;
        record.hostKeyType = host.identity.hostKeyType;
        if (host.identity.jump) record.jump = host.identity.jump;
        emit({ type: 'host', host: target.label, state: 'connected' });
      } catch (err) {
        record.error = (err as Error).message;
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string') record.errorCode = code;
        emit({ type: 'host', host: target.label, state: 'failed', detail: record.error });
        for (const c of options.collectors)
          outcomes.push({ host: target.label, collector: c.id, status: 'failed', reason: `could not connect: ${record.error}` });
        continue;
      }
      try {
        for (const collector of options.collectors) {
          outcomes.push(
            await runCollector(collector, session, {
              options,
              writer,
              artifacts,
              skipped,
              emit,
              now,
              baseVars: {
                since: journalTime(window.since),
                until: journalTime(window.until),
                host: target.label,
              },
            }),
          );
        }
      } finally {
        record.reconnects = session.reconnects;
        // A host whose final connection is up was connected at the end; keep the first key.
        if (session.host && session.host.identity.hostKeyFingerprint !== record.hostKeyFingerprint)
          record.error = `host key changed on reconnect to ${session.host.identity.hostKeyFingerprint}`;
        await session.host?.close().catch(() => undefined);
      }
    }

    emit({ type: 'sealing' });
    const attachments: AttachmentRecord[] = [];
    let extra: ReadonlyArray<{ path: string; data: Buffer | string }> = [];
    try {
      extra = (await options.attachments?.()) ?? [];
    } catch (err) {
      // The run's own record (journal, policy, triage) could not be read: seal what was collected
      // from the host anyway and say so in the manifest, rather than discard the evidence.
      skipped.push({ host: 'local', collector: 'attachments', name: 'run record', reason: `could not be read: ${err instanceof Error ? err.message : String(err)}` });
    }
    for (const a of extra) {
      // The manifest and the artifacts/ tree belong to the collector; attachments go beside them.
      if (a.path === MANIFEST_PATH || a.path.startsWith('artifacts/'))
        throw new Error(`attachment path ${JSON.stringify(a.path)} is reserved for the collector`);
      attachments.push(await writer.addBuffer(a.path, a.data));
    }
    const manifest: EvidenceManifest = {
      schema: MANIFEST_SCHEMA,
      runId: options.run.runId,
      ...(options.run.caseId ? { caseId: options.run.caseId } : {}),
      operator: options.run.operator,
      tool: { name: 'tailnet-ir', version: toolVersion() },
      namespace: options.namespace ?? EVIDENCE_NAMESPACE,
      startedAt: iso(startedAt),
      completedAt: iso(now()),
      target: {
        ...(options.run.target.deviceId ? { deviceId: options.run.target.deviceId } : {}),
        ...(options.run.target.name ? { name: options.run.target.name } : {}),
        addresses: options.run.target.addresses ?? [],
      },
      hosts: hostRecords,
      collectors: outcomes,
      artifacts,
      skipped,
      aborted: options.signal?.aborted ?? false,
      attachments,
    };
    await writer.addBuffer(MANIFEST_PATH, `${JSON.stringify(manifest, null, 2)}\n`);
    await writer.finalize();

    let signaturePath: string | undefined;
    if (options.signer) {
      signaturePath = await signArchive(options.archivePath, options.signer, manifest.namespace);
    }
    // Check what we sealed before anyone relies on it (and before destructive steps follow).
    const selfCheck = options.selfCheck ?? 'quick';
    const problems =
      selfCheck === 'full'
        ? (await verifyArchive(options.archivePath, { namespace: manifest.namespace, requireSignature: Boolean(options.signer) })).problems
        : await quickCheck(options.archivePath, writer.layout(), signaturePath, manifest.namespace);
    if (problems.length)
      throw new CheckFailedError(
        `The sealed archive ${options.archivePath} did not verify: ${problems.map((p) => `${p.file}: ${p.problem}`).join('; ')}`,
        { hint: 'Keep the archive and its signature as they are and collect again into a new file; check the disk for errors.' },
      );
    return { manifest, archivePath: options.archivePath, ...(signaturePath ? { signaturePath } : {}), selfCheck };
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
}

async function quickCheck(archivePath: string, layout: ArchiveLayout, signaturePath: string | undefined, namespace: string): Promise<VerifyProblem[]> {
  const problems = await checkSealedArchive(archivePath, layout);
  if (signaturePath) {
    const sig = await verifyFileSignature(archivePath, await readFile(signaturePath, 'utf8'), namespace);
    if (!sig.valid) problems.push({ file: signaturePath, problem: `signature invalid: ${sig.reason ?? 'unknown reason'}` });
  }
  return problems;
}

interface RunContext {
  options: CollectEvidenceOptions;
  writer: EvidenceArchiveWriter;
  artifacts: ArtifactRecord[];
  skipped: EvidenceManifest['skipped'];
  emit: (e: CollectProgress) => void;
  now: () => Date;
  baseVars: Record<string, string>;
}

async function runCollector(collector: CollectorDefinition, session: HostSession, ctx: RunContext): Promise<CollectorOutcome> {
  const host = session.target.label;
  const outcome = (status: CollectorOutcome['status'], reason?: string): CollectorOutcome => ({
    host,
    collector: collector.id,
    status,
    ...(reason ? { reason } : {}),
  });
  const skip = (name: string, reason: string) => {
    ctx.skipped.push({ host, collector: collector.id, name, reason });
    ctx.emit({ type: 'skipped', host, collector: collector.id, name, reason });
  };
  if (ctx.options.signal?.aborted) return outcome('skipped', 'aborted');
  if (!session.host?.connected) return outcome('failed', 'connection lost');

  const vars: Record<string, string> = { ...collector.variables, ...ctx.options.variables, ...ctx.baseVars };
  try {
    for (const [name, candidates] of Object.entries(collector.choose)) {
      let found: string | undefined;
      for (const c of candidates) if (await session.condition({ commandExists: c }, vars)) {
        found = c;
        break;
      }
      if (!found) return outcome('skipped', `none of ${candidates.join(', ')} is installed`);
      vars[name] = found;
    }
    if (collector.condition && !(await session.condition(collector.condition, vars)))
      return outcome('skipped', `condition not met: ${JSON.stringify(collector.condition)}`);
  } catch (err) {
    return outcome('failed', `precondition check failed: ${(err as Error).message}`);
  }

  let ok = 0;
  let bad = 0;
  const notes: string[] = [];
  const failedNames: string[] = [];
  for (const spec of collector.artifacts) {
    if (ctx.options.signal?.aborted) {
      skip(spec.name, 'aborted');
      continue;
    }
    if ((spec.sensitive || collector.sensitive) && !ctx.options.includeSensitive) {
      skip(spec.name, 'sensitive: not collected unless explicitly included (--include-sensitive)');
      continue;
    }
    if (!session.host?.connected) {
      bad++;
      skip(spec.name, 'connection lost and the one reconnect was already used');
      continue;
    }
    let items: (string | undefined)[] = [undefined];
    try {
      if (spec.foreach) {
        const res = await foreachItems(spec, session, vars, ctx);
        items = res.items;
        if (res.note) notes.push(res.note);
        if (items.length === 0) {
          skip(spec.name, 'no items');
          continue;
        }
      }
    } catch (err) {
      bad++;
      skip(spec.name, `could not list items: ${(err as Error).message}`);
      continue;
    }
    for (const item of items) {
      const itemVars = spec.foreach && item !== undefined ? { ...vars, [spec.foreach.as]: item } : vars;
      if (spec.condition) {
        if (!session.host?.connected) break;
        const met = await session.condition(spec.condition, itemVars).catch(() => false);
        if (!met) {
          skip(substitute(spec.name, itemVars), `condition not met: ${JSON.stringify(spec.condition)}`);
          continue;
        }
      }
      if (!session.host?.connected) {
        bad++;
        skip(substitute(spec.name, itemVars), 'connection lost and the one reconnect was already used');
        continue;
      }
      const rec = await collectArtifact(collector, spec, itemVars, session, ctx);
      if (rec.exitCode === 0 || (spec.optional && rec.exitCode !== null && !rec.partial && !rec.timedOut)) ok++;
      else {
        bad++;
        failedNames.push(`${rec.name} (${rec.partial ? 'partial' : rec.timedOut ? 'timed out' : rec.exitCode !== null ? `exit ${rec.exitCode}` : (rec.signal ?? rec.error ?? 'failed')})`);
      }
      if (rec.partial) {
        const again = await session.reconnectOnce(ctx.emit);
        if (!again) notes.push('connection lost; later artifacts on this host were not collected');
      }
    }
  }
  const reason = notes.length ? notes.join('; ') : undefined;
  if (bad === 0) return outcome(ok === 0 ? 'skipped' : 'ok', reason ?? (ok === 0 ? 'nothing to collect' : undefined));
  const listed = failedNames.slice(0, 5).join(', ') + (failedNames.length > 5 ? `, and ${failedNames.length - 5} more` : '');
  const failures = `${bad} artifact(s) failed${listed ? `: ${listed}` : ''}`;
  return outcome(ok === 0 ? 'failed' : 'partial', reason ? `${failures}; ${reason}` : failures);
}

async function foreachItems(
  spec: ArtifactSpec,
  session: HostSession,
  vars: Record<string, string>,
  ctx: RunContext,
): Promise<{ items: string[]; note?: string }> {
  const f = spec.foreach;
  if (!f) return { items: [] };
  const items: string[] = [];
  let note: string | undefined;
  if (f.argv && f.match) {
    const argv = f.argv.map((a) => substitute(a, vars));
    // One listing per host and command: every artifact of a foreach sees the same item set.
    const key = argv.join('\0');
    let text = session.listings.get(key);
    if (text === undefined) {
      const listed = await session.runQuiet(argv);
      if (listed.result.exitCode !== 0)
        throw new Error(`listing command exited ${listed.result.exitCode ?? listed.result.signal ?? 'abnormally'}`);
      text = listed.text;
      session.listings.set(key, text);
    }
    const re = new RegExp(f.match);
    for (const line of text.split('\n').map((l) => l.trim())) if (re.test(line)) items.push(line);
  }
  if (f.builtin) {
    const inventory = await containerInventory(session, vars);
    if (f.builtin === 'export-targets') {
      const sel = selectExportTargets(inventory, ctx.options.containers ?? []);
      items.push(...sel.ids);
      if (sel.unmatched.length) note = `requested containers not found: ${sel.unmatched.map((u) => JSON.stringify(u)).join(', ')}`;
    } else {
      items.push(...sidecarComposeDirs(inventory), ...(ctx.options.composeDirs ?? []));
    }
  }
  if (f.variable) {
    const v = ctx.options.variables?.[f.variable];
    if (v) items.push(...v.split('\n').filter(Boolean));
  }
  const unique = [...new Set(items)];
  if (unique.length > f.maxItems) note = `only the first ${f.maxItems} of ${unique.length} items were collected`;
  return { items: unique.slice(0, f.maxItems), ...(note ? { note } : {}) };
}

async function containerInventory(session: HostSession, vars: Record<string, string>): Promise<ContainerSummary[]> {
  if (session.inventory) return session.inventory;
  const engine = vars.engine;
  if (!engine) throw new Error('no container engine chosen');
  const { result, text } = await session.runQuiet([engine, 'ps', '-aq', '--no-trunc']);
  if (result.exitCode !== 0) throw new Error(`${engine} ps exited ${result.exitCode ?? result.signal ?? 'abnormally'}`);
  const ids = [...new Set(text.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l)))];
  const inventory: ContainerSummary[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const batch = await session.runQuiet([engine, 'inspect', ...ids.slice(i, i + 100)], 64 * 1024 * 1024);
    inventory.push(...parseInspect(batch.text));
  }
  session.inventory = inventory;
  return inventory;
}

async function collectArtifact(
  collector: CollectorDefinition,
  spec: ArtifactSpec,
  vars: Record<string, string>,
  session: HostSession,
  ctx: RunContext,
): Promise<ArtifactRecord> {
  const hostLabel = session.target.label;
  const argv = spec.argv.map((a) => substitute(a, vars));
  const name = substitute(spec.name, vars);
  const entry = artifactEntryPath(hostLabel, collector.id, name);
  ctx.emit({ type: 'artifact-start', host: hostLabel, collector: collector.id, name });
  const started = ctx.now();
  const host = session.host;
  let redactor: SecretRedactor | undefined;
  const { digest, result } = await ctx.writer.addStreamed(entry, async (sink) => {
    if (!host) throw new Error('not connected');
    const timer = setInterval(() => {
      ctx.emit({ type: 'artifact-bytes', host: hostLabel, collector: collector.id, name, bytes: (sink as Writable & { bytes: number }).bytes });
    }, PROGRESS_EVERY_MS);
    try {
      const command = {
        argv,
        timeoutMs: spec.timeoutSeconds * 1000,
        maxBytes: spec.maxBytes,
        ...(spec.idleTimeoutSeconds ? { idleTimeoutMs: spec.idleTimeoutSeconds * 1000 } : {}),
        ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
      };
      if (!spec.redact) return await host.run(command, sink);
      redactor = new SecretRedactor();
      redactor.pipe(sink, { end: false });
      const r = await host.run(command, redactor);
      redactor.end();
      await once(redactor, 'end');
      return r;
    } finally {
      clearInterval(timer);
    }
  });
  const rec: ArtifactRecord = {
    path: digest.path,
    host: hostLabel,
    collector: collector.id,
    name,
    sha256: digest.sha256,
    bytes: digest.bytes,
    argv,
    startedAt: iso(started),
    endedAt: iso(ctx.now()),
    exitCode: result.exitCode,
    signal: result.signal,
    // stderr of a redacted artifact could echo the same secrets (e.g. a parse error quoting a line).
    stderrExcerpt: spec.redact ? result.stderrExcerpt.split('\n').map(redactLine).join('\n') : result.stderrExcerpt,
    truncated: result.truncated,
    partial: result.connectionLost,
    timedOut: result.timedOut,
    sensitive: spec.sensitive || collector.sensitive,
    redacted: Boolean(spec.redact),
    ...(result.connectionLost
      ? { error: 'connection lost while streaming: the artifact is partial' }
      : result.timedOut
        ? { error: `timed out after ${spec.timeoutSeconds}s${spec.idleTimeoutSeconds ? ` (or ${spec.idleTimeoutSeconds}s without output)` : ''}` }
        : result.aborted
          ? { error: 'aborted by the operator' }
          : {}),
  };
  ctx.artifacts.push(rec);
  ctx.emit({ type: 'artifact-done', record: rec });
  return rec;
}
