/**
 * Shared set-up for the evidence benchmarks: a real sshd on loopback (the same lab helpers the
 * system tests use), a client key, and collectEvidence wired to the SSH connector.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, makeKey, startSshd, type KeyPair, type SshdInstance } from '../test/system/support/sshd-lab.js';
import { missingRequirements } from '../test/system/support/requirements.js';
import { createSshConnector, loadKeyAuth } from '../src/evidence/ssh-connector.js';
import { parseKnownHosts } from '../src/evidence/host-keys.js';
import { parseCollector } from '../src/evidence/collector-schema.js';
import { collectEvidence } from '../src/evidence/collect-evidence.js';

export interface BenchLab {
  dir: string;
  sshd: SshdInstance;
  client: KeyPair;
  knownHosts: string;
  close(): Promise<void>;
}

export function requireBenchMachine(): void {
  const missing = missingRequirements(['root', 'sshd', 'ssh', 'ssh-keygen']);
  if (missing.length) {
    console.error(`cannot run: missing ${missing.join(', ')}`);
    process.exit(2);
  }
}

export async function startBenchLab(setEnv?: Record<string, string>): Promise<BenchLab> {
  const dir = mkdtempSync(join(tmpdir(), 'tir-bench-'));
  const client = makeKey(dir, 'client');
  const sshd = await startSshd({ address: '127.0.0.1', port: await freeLoopbackPort(), authorizedKeys: [client.publicLine], ...(setEnv ? { setEnv } : {}) });
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
  return {
    dir,
    sshd,
    client,
    knownHosts,
    async close() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collect one artifact produced by `argv` on the lab host into an archive; returns seconds. */
export async function collectOnce(
  lab: BenchLab,
  argv: string[],
  archivePath: string,
  opts: { compressionLevel?: number; selfCheck?: 'quick' | 'full' } = {},
): Promise<{ seconds: number; bytes: number }> {
  const collector = parseCollector(
    `id: bench\ndescription: bench\nartifacts:\n  - name: artifact.bin\n    argv: ${JSON.stringify(argv)}\n    timeoutSeconds: 3600\n    maxBytes: 68719476736\n`,
    'bench.yaml',
  );
  const auth = await loadKeyAuth(lab.client.privatePath, async () => undefined);
  const { readFileSync } = await import('node:fs');
  const connector = createSshConnector({ auth, hostKeys: { kind: 'known-hosts', entries: parseKnownHosts(readFileSync(lab.knownHosts, 'utf8')), source: 'bench' } });
  // Archives are never overwritten: each timed run starts from a fresh path.
  rmSync(archivePath, { force: true });
  const t0 = process.hrtime.bigint();
  const { manifest } = await collectEvidence({
    connector,
    collectors: [collector],
    hosts: [{ label: 'bench', address: '127.0.0.1', port: lab.sshd.port, user: 'root' }],
    archivePath,
    run: { runId: 'bench', operator: 'bench', target: {} },
    ...opts,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, bytes: manifest.artifacts[0]?.bytes ?? 0 };
}
