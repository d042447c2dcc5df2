/**
 * The network-namespace lab (scripts/lab/netns-lab.sh): a client namespace and N target hosts
 * on a private bridge, each target running its own sshd with its own hostname and /var/log.
 * No lab namespace has a default route; nothing is added to the root namespace.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labScripts, startSshd, type SshdInstance } from './sshd-lab.js';

export const SUBNET = '10.213.0';

export interface NetnsLab {
  name: string;
  clientNs: string;
  targets: { ns: string; hostname: string; address: string; sshd: SshdInstance }[];
  knownHosts: string;
  /** Run a command inside the client namespace. */
  execInClient(argv: string[]): string;
  down(): Promise<void>;
}

const script = join(labScripts, 'netns-lab.sh');

export async function startNetnsLab(opts: { targets: number; authorizedKeys: string[]; setEnv?: Record<string, string>; knownHostsPath: string }): Promise<NetnsLab> {
  const name = `tir${randomBytes(2).toString('hex')}`;
  execFileSync(script, ['up', name, String(opts.targets), SUBNET], { stdio: 'pipe' });
  const targets: NetnsLab['targets'] = [];
  const down = async () => {
    for (const t of targets) await t.sshd.stop();
    execFileSync(script, ['down', name, String(opts.targets)], { stdio: 'pipe' });
  };
  try {
    for (let i = 1; i <= opts.targets; i++) {
      const ns = `${name}-t${i}`;
      const hostname = `target-${i}`;
      const address = `${SUBNET}.${10 + i}`;
      const sshd = await startSshd({
        address,
        port: 22,
        authorizedKeys: opts.authorizedKeys,
        netns: { ns, hostname },
        ...(opts.setEnv ? { setEnv: opts.setEnv } : {}),
      });
      targets.push({ ns, hostname, address, sshd });
    }
  } catch (err) {
    await down();
    throw err;
  }
  writeFileSync(opts.knownHostsPath, targets.map((t) => t.sshd.knownHostsLine).join('\n') + '\n');
  return {
    name,
    clientNs: `${name}-c`,
    targets,
    knownHosts: opts.knownHostsPath,
    execInClient: (argv) => execFileSync('ip', ['netns', 'exec', `${name}-c`, ...argv], { encoding: 'utf8' }),
    down,
  };
}

const cliEntry = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface NetnsCliRun {
  pid: number;
  result: Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>;
}

/** Run the tailnet-ir CLI from source inside a lab namespace (the only way to reach targets). */
export function runCliInNetns(ns: string, args: string[], timeoutMs = 120_000): NetnsCliRun {
  return runScriptInNetns(ns, cliEntry, args, timeoutMs);
}

/** Run a TypeScript file (e.g. a support script driving the engine's ports) inside a lab namespace. */
export function runScriptInNetns(ns: string, script: string, args: string[], timeoutMs = 120_000): NetnsCliRun {
  const t0 = Date.now();
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return {
    pid: child.pid ?? 0,
    result: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - t0 });
      });
    }),
  };
}
