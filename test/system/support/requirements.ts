/**
 * The system-test gate. A machine without root or the lab packages skips the system suites
 * with a visible message; with TAILNET_IR_REQUIRE_SYSTEM=1 (CI) a missing requirement fails
 * the run instead, so a green CI can never mean "nothing ran".
 *
 *   describe.runIf(requireSystem(['root', 'sshd', 'ssh-keygen']))('…', () => { … })
 */
import { accessSync, constants } from 'node:fs';
import { delimiter } from 'node:path';

export type Requirement =
  | 'root'
  | 'sshd'
  | 'ssh'
  | 'ssh-keygen'
  | 'ssh-agent'
  | 'ssh-add'
  | 'ip'
  | 'nft'
  | 'unshare'
  | 'dockerd'
  | 'docker'
  | 'runc'
  | 'busybox'
  | 'docker-compose';

const binaries: Record<Exclude<Requirement, 'root'>, string> = {
  sshd: 'sshd',
  ssh: 'ssh',
  'ssh-keygen': 'ssh-keygen',
  'ssh-agent': 'ssh-agent',
  'ssh-add': 'ssh-add',
  ip: 'ip',
  nft: 'nft',
  unshare: 'unshare',
  dockerd: 'dockerd',
  docker: 'docker',
  runc: 'runc',
  busybox: 'busybox',
  'docker-compose': 'docker-compose',
};

const searchPath = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];

export function findBinary(name: string): string | undefined {
  for (const dir of searchPath) {
    if (!dir) continue;
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

export function missingRequirements(reqs: readonly Requirement[]): string[] {
  const missing: string[] = [];
  for (const r of reqs) {
    if (r === 'root') {
      if (process.getuid?.() !== 0) missing.push('root (run as uid 0)');
    } else if (!findBinary(binaries[r])) missing.push(`${binaries[r]} (install the package that provides it; see .ci/run)`);
  }
  return missing;
}

/** Whether a system suite can run here; throws under TAILNET_IR_REQUIRE_SYSTEM=1 when it cannot. */
export function requireSystem(reqs: readonly Requirement[], suite = 'system tests'): boolean {
  const missing = missingRequirements(reqs);
  if (missing.length === 0) return true;
  const message = `${suite}: missing ${missing.join(', ')}`;
  if (process.env.TAILNET_IR_REQUIRE_SYSTEM === '1')
    throw new Error(`${message} — TAILNET_IR_REQUIRE_SYSTEM=1 makes this a failure, not a skip.`);
  process.stderr.write(`\n[system tests SKIPPED] ${message}\n`);
  return false;
}
