/**
 * The evidence pipeline behind the engine's `EvidenceCollector` port. `collect` streams every
 * artifact into the run's archive and, just before closing it, adds the tailnet-side files
 * (journal so far, policy before/after, inventories, audit log) and the manifest; `seal` signs
 * the finished archive (detached SSHSIG) and checks the signature it wrote; `verify` checks the
 * signature and every manifest hash.
 */
import { access, mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { ConflictError, TailnetIrError } from '../core/errors.js';
import type { CollectionResult, CollectionRoute, EvidenceCollector, ProgressSink } from '../engine/ports.js';
import type { Device } from '../tailnet/types.js';
import { collectEvidence, type CollectProgress } from './collect-evidence.js';
import type { CollectorDefinition } from './collector-schema.js';
import { formatSshEndpoint, type RemoteConnector } from './remote-command.js';
import { parseJump, resolveSshRoute } from './ssh-setup.js';
import { hashFile, signArchive, type Ed25519Signer } from './sshsig.js';
import { verifyArchive } from './verify-archive.js';

export interface EvidenceCollectorOptions {
  ssh: Config['ssh'];
  connector: RemoteConnector;
  collectors: readonly CollectorDefinition[];
  /** Directory of a run (where `evidence/` goes). */
  runDir: (runId: string) => string;
  /** Loaded only when sealing, so a passphrase is asked for at the moment it is needed. */
  signer: () => Promise<Ed25519Signer>;
  /** `tailnet-ir-evidence`, or `tailnet-ir-drill` for drills. */
  namespace: string;
  operator: string;
  /** Incident window for log collectors. */
  window?: () => { since: Date; until: Date };
  now?: () => Date;
}

/**
 * Where this collection attempt writes. Archives are never overwritten, and what an earlier
 * attempt left (a partial archive after a crash, or one from a host that dropped the
 * connection) is kept as it is, so a resumed collection takes the next free name:
 * `evidence-RUN.tar.gz`, then `evidence-RUN-attempt-2.tar.gz`, ….
 */
export async function freshArchivePath(dir: string, runId: string, exists: (path: string) => Promise<boolean>, maxAttempts = 100): Promise<string> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const path = join(dir, attempt === 1 ? `evidence-${runId}.tar.gz` : `evidence-${runId}-attempt-${attempt}.tar.gz`);
    if (!(await exists(path)) && !(await exists(`${path}.partial`))) return path;
  }
  throw new ConflictError(`${dir} already holds ${maxAttempts} collection attempts for run ${runId}; nothing was collected`, {
    hint: 'Move the old attempts elsewhere (they are evidence: keep them), then resume.',
  });
}

const pathExists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

export class CollectionFailedError extends TailnetIrError {
  override readonly code = 'collection-failed';
}

export function createEvidenceCollector(options: EvidenceCollectorOptions): EvidenceCollector & {
  collect(request: Parameters<EvidenceCollector['collect']>[0] & { attachments?: { journalPath: string; extraFiles: { name: string; path: string }[] } }): Promise<CollectionResult>;
} {
  return {
    async routeFor(device: Device): Promise<CollectionRoute> {
      const r = resolveSshRoute(device, options.ssh);
      const jump = r.target.jump;
      return {
        address: r.target.address,
        port: r.target.port,
        user: r.target.user,
        path: r.path,
        ...(jump ? { via: r.via ?? formatSshEndpoint(jump), jump: { address: jump.address, port: jump.port, user: jump.user } } : {}),
      };
    },

    async collect({ runId, device, route, signal, progress, attachments }) {
      const evidenceDir = join(options.runDir(runId), 'evidence');
      await mkdir(evidenceDir, { recursive: true, mode: 0o700 });
      const archivePath = await freshArchivePath(evidenceDir, runId, pathExists);
      // The route as planned (and journaled), jump host included. A plan journaled before routes
      // carried `jump` names it only as `via` text.
      const jump = route.jump ?? (route.via ? parseJump(route.via, options.ssh.user) : undefined);
      const result = await collectEvidence({
        connector: options.connector,
        collectors: options.collectors,
        hosts: [{ label: device.hostname, address: route.address, port: route.port ?? 22, user: route.user ?? options.ssh.user, ...(jump ? { jump } : {}) }],
        archivePath,
        run: { runId, operator: options.operator, target: { deviceId: device.nodeId, name: device.name, addresses: device.addresses } },
        ...(options.window ? { window: options.window() } : {}),
        signal,
        onProgress: progressAdapter(runId, progress),
        namespace: options.namespace,
        ...(options.now ? { now: options.now } : {}),
        ...(attachments ? { attachments: () => readAttachments(attachments) } : {}),
      });
      const m = result.manifest;
      const host = m.hosts[0];
      if (!host?.connected)
        throw new CollectionFailedError(`could not collect from ${device.name} at ${route.address}${jump ? ` via ${formatSshEndpoint(jump)}` : ''}: ${host?.error ?? 'no connection'}`, {
          hint: `Nothing was lost: the run is paused. Fix what the error names — SSH reachability (${route.path} path${jump ? ', through the jump host' : ''}), the known_hosts pin or the SSH credentials — then \`tailnet-ir resume ${runId}\`.`,
        });
      // Remember which host key the compromised node presented: re-enrolment refuses a host that
      // still presents it (it was not rebuilt).
      if (host.hostKeyFingerprint) await recordHostKey(options.runDir(runId), device.nodeId, host.hostKeyFingerprint);
      const failures = m.collectors.filter((c) => c.status === 'failed' || c.status === 'partial').map((c) => `${c.collector}: ${c.status}${c.reason ? ` (${c.reason})` : ""}`);
      return { archivePath, artifacts: m.artifacts.length, bytes: m.artifacts.reduce((n, a) => n + a.bytes, 0), failures };
    },

    async seal({ archivePath }) {
      const signaturePath = await signArchive(archivePath, await options.signer(), options.namespace);
      return { archivePath, signaturePath, sha256: (await hashFile(archivePath, 'sha256')).toString('hex') };
    },

    async verify({ archivePath, signaturePath }) {
      const report = await verifyArchive(archivePath, { signaturePath, namespace: options.namespace });
      return report.ok
        ? { ok: true, detail: `signature valid (${options.namespace}), ${report.artifactsChecked} artifacts match the manifest` }
        : { ok: false, detail: report.problems.map((p) => `${p.file}: ${p.problem}`).slice(0, 5).join('; ') };
    },
  };
}

/** `evidence/host-keys.json`: node id → SSH host-key fingerprint seen during collection. */
export const HOST_KEYS_FILE = join('evidence', 'host-keys.json');

async function recordHostKey(runDir: string, nodeId: string, fingerprint: string): Promise<void> {
  const file = join(runDir, HOST_KEYS_FILE);
  const known = await readCollectedHostKeys(runDir);
  known[nodeId] = fingerprint;
  await writeFileAtomic(file, `${JSON.stringify(known, null, 2)}\n`);
}

export async function readCollectedHostKeys(runDir: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(join(runDir, HOST_KEYS_FILE), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

async function readAttachments(a: { journalPath: string; extraFiles: { name: string; path: string }[] }): Promise<{ path: string; data: Buffer }[]> {
  const out = [{ path: 'journal.jsonl', data: await readFile(a.journalPath) }];
  for (const f of a.extraFiles) out.push({ path: f.name, data: await readFile(f.path) });
  return out;
}

function progressAdapter(runId: string, sink: ProgressSink): (e: CollectProgress) => void {
  let artifacts = 0;
  return (e) => {
    if (e.type === 'host') sink({ runId, phase: 'info', message: `evidence: host ${e.host} ${e.state}${e.detail ? `: ${e.detail}` : ''}` });
    else if (e.type === 'artifact-done') {
      artifacts++;
      if (artifacts % 10 === 0) sink({ runId, phase: 'info', message: `evidence: ${artifacts} artifacts collected` });
    } else if (e.type === 'sealing') sink({ runId, phase: 'info', message: `evidence: ${artifacts} artifacts, writing manifest` });
  };
}

