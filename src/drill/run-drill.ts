/**
 * `tailnet-ir drill`: the node-compromise playbook, end to end, against the simulated tailnet and
 * a simulated host — the same engine, HTTP client, SSH client and evidence pipeline as a real
 * response — followed by a scorecard of what the response achieved.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DrillClock } from '../core/clock.js';
import { verifyJournalText } from '../core/journal-entry.js';
import { createFlagApprover } from '../engine/approvers.js';
import { findPlaybook } from '../engine/playbook-catalog.js';
import type { ProgressSink } from '../engine/ports.js';
import { startRun, type RunOutcome } from '../engine/run-engine.js';
import { resolveStateHome } from '../engine/state-dir.js';
import { buildEngineDeps, responseInputs } from '../cli/engine-wiring.js';
import { TailscaleClient } from '../tailnet/tailscale-client.js';
import type { Key } from '../tailnet/types.js';
import { startDrillLab, type DrillLab } from './drill-lab.js';
import { loadScenario } from './sim/scenario.js';
import { scoreDrill, type Scorecard } from './scorecard.js';

export interface DrillOptions {
  scenario?: string;
  target?: string;
  approve?: string;
  playbook?: string;
  /** Tags for the rebuilt device; with them a user-owned device is rebuilt too. */
  rebuildTags?: string[];
  /** Where the drill's lab and runs go (default: `<state home>/drills/<time>`). */
  dir?: string;
  progress: ProgressSink;
  operator?: string;
}

export interface DrillResult {
  dir: string;
  allowedSigners: string;
  outcome: RunOutcome;
  scorecard: Scorecard;
  archive?: string;
  /** Waiting the simulated clock skipped (ms). */
  skippedMs: number;
}

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  // Simulated time: waits (polls, backoffs) are skipped, and the simulator shares the clock.
  const clock = new DrillClock();
  const scenario = await loadScenario(options.scenario);
  const dir = options.dir ?? join(resolveStateHome(), 'drills', clock.now().toISOString().replace(/[:.]/g, '-'));
  const lab = await startDrillLab({ scenario, dir, clock, ...(options.target ? { target: options.target } : {}) });
  try {
    const tailnet = new TailscaleClient({ baseUrl: lab.apiEnv.TAILSCALE_BASE_URL, tailnet: '-', credentials: { kind: 'api-key', apiKey: lab.apiEnv.TAILSCALE_API_KEY } });
    const operator = options.operator ?? 'drill trainee';
    const deps = await buildEngineDeps({
      config: lab.config,
      tailnet,
      clock,
      stateHome: join(dir, 'state'),
      operator,
      approver: createFlagApprover(options.approve ?? 'all', operator),
      progress: options.progress,
      drill: true,
      env: { ...process.env, SSH_AUTH_SOCK: '' },
    });
    const playbook = await findPlaybook(options.playbook ?? 'node-compromise', deps.registry);
    const before = (await tailnet.listDevices()).find((d) => d.hostname === lab.targetHostname)!;
    const outcome = await startRun(deps, { playbook, inputs: responseInputs(lab.config, lab.targetHostname, options.rebuildTags ? { rebuildTags: options.rebuildTags } : {}) });
    const runDir = deps.store.runDir(outcome.runId);
    const scorecard = scoreDrill({
      runId: outcome.runId,
      status: outcome.status,
      message: drillMessage(outcome),
      outputs: outcome.outputs,
      target: { nodeId: before.nodeId, hostname: before.hostname, user: before.user, tags: before.tags ?? [] },
      ...(options.rebuildTags ? { rebuildTags: options.rebuildTags } : {}),
      after: {
        devices: await tailnet.listDevices({ all: true }),
        users: await tailnet.listUsers({ type: 'all' }),
        keys: await keysIncludingRevoked(tailnet, lab),
        policyText: (await tailnet.getPolicy()).text,
      },
      audit: (await tailnet.getConfigurationAuditLog()).logs,
      journal: verifyJournalText(await readFile(deps.store.journalPath(outcome.runId), 'utf8')),
      evidence: evidenceFact(outcome),
      secretLeaks: await findSecrets(runDir, lab.enrolledKeys),
    });
    const archive = (outcome.outputs['seal'] as { archivePath?: string } | undefined)?.archivePath;
    return { dir, allowedSigners: lab.allowedSignersFile, outcome, scorecard, skippedMs: clock.skipped, ...(archive ? { archive } : {}) };
  } finally {
    await lab.close();
  }
}

/**
 * A drill's simulated tailnet and host end with the drill, so a paused drill cannot be resumed:
 * say how to get past the gate instead of the real run's `tailnet-ir resume` advice.
 */
export function drillMessage(outcome: Pick<RunOutcome, 'status' | 'step' | 'message'>): string | null {
  if (outcome.status !== 'paused') return outcome.message;
  const why = (outcome.message ?? '').split(/; review with |; approve and continue|\. State kept/)[0];
  return `${why}. A drill cannot be resumed (its simulated tailnet ends with it): run it again with --approve covering ${outcome.step ?? 'that step'} (the default, all, approves every gate)`;
}

function evidenceFact(outcome: RunOutcome): { verified: boolean; detail: string } | undefined {
  const v = outcome.outputs['verify-evidence'] as { verified?: boolean; detail?: string } | undefined;
  return v ? { verified: v.verified === true, detail: v.detail ?? '' } : undefined;
}

/** Revoked keys drop out of the list; fetch each scenario key by id to see its state. */
async function keysIncludingRevoked(tailnet: TailscaleClient, lab: DrillLab): Promise<Key[]> {
  const active = await tailnet.listKeys();
  const ids = new Set([...active.map((k) => k.id), ...lab.sim.tailnet.listKeysAll().map((k) => k.id)]);
  return Promise.all([...ids].map((id) => tailnet.getKey(id)));
}

/** Every file of the run (the archive decompressed) searched for the given secrets. */
async function findSecrets(dir: string, secrets: string[]): Promise<string[]> {
  if (secrets.length === 0) return [];
  const hits: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const path = join(d, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else if (await fileContains(path, secrets)) hits.push(path);
    }
  };
  await walk(dir);
  return hits;
}

function fileContains(path: string, secrets: string[]): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const longest = Math.max(...secrets.map((s) => s.length));
    let tail = '';
    let found = false;
    const source = createReadStream(path);
    const stream = path.endsWith('.gz') ? source.pipe(createGunzip()) : source;
    stream.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      if (secrets.some((s) => text.includes(s))) {
        found = true;
        source.destroy();
        resolve(true);
      }
      tail = text.slice(-longest);
    });
    stream.on('end', () => resolve(found));
    stream.on('error', (e: Error) => (found ? resolve(true) : reject(e)));
  });
}
