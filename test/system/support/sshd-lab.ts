/**
 * A real OpenSSH sshd for tests, with its own host key, authorized key, config and pidfile in a
 * temp dir. On loopback (root namespace) or inside a lab namespace with its own hostname.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, startDaemon, stopPid, waitForLog, type Daemon } from './daemons.js';
import { findBinary } from './requirements.js';

export const labScripts = fileURLToPath(new URL('../../../scripts/lab/', import.meta.url));
export const fakeNodeBin = fileURLToPath(new URL('./fake-node-bin/', import.meta.url));

export interface KeyPair {
  privatePath: string;
  publicLine: string;
}

export function makeKey(dir: string, name: string, comment = name): KeyPair {
  const privatePath = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privatePath]);
  return { privatePath, publicLine: readFileSync(`${privatePath}.pub`, 'utf8').trim() };
}

export function fingerprintOf(pubPath: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubPath], { encoding: 'utf8' }).split(' ')[1] ?? '';
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface SshdOptions {
  /** Listen address; 127.0.0.1 on loopback, the target's lab address inside a namespace. */
  address: string;
  port: number;
  /** Host key to use (e.g. a rebuilt machine's key pinned in advance); default a fresh one. */
  hostKey?: KeyPair;
  authorizedKeys: string[];
  /** Run inside this lab namespace with its own hostname and /var/log. */
  netns?: { ns: string; hostname: string };
  /** Environment every session gets (e.g. PATH with fake node tools, DOCKER_HOST). */
  setEnv?: Record<string, string>;
  extraConfig?: string[];
}

export interface SshdInstance {
  dir: string;
  address: string;
  port: number;
  pid: number;
  hostKey: KeyPair;
  hostKeyFingerprint: string;
  /** known_hosts line for this server (`[addr]:port` unless port 22). */
  knownHostsLine: string;
  logDir: string;
  daemon: Daemon;
  /** Kill the per-connection sshd processes (drops live connections, keeps listening). */
  killConnections(): number;
  stop(): Promise<void>;
}

export async function startSshd(opts: SshdOptions): Promise<SshdInstance> {
  const sshd = findBinary('sshd');
  if (!sshd) throw new Error('sshd not installed');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'tir-sshd-'));
  const logDir = join(dir, 'varlog');
  mkdirSync(logDir);
  const hostKey = opts.hostKey ?? makeKey(dir, 'hostkey', 'lab-host');
  writeFileSync(join(dir, 'authorized_keys'), `${opts.authorizedKeys.join('\n')}\n`, { mode: 0o600 });
  // sshd honours only the first SetEnv line: all variables go on one line, quoted.
  const envPairs = Object.entries(opts.setEnv ?? {}).map(([k, v]) => `"${k}=${v}"`);
  const env = envPairs.length ? [`SetEnv ${envPairs.join(' ')}`] : [];
  const config = [
    `Port ${opts.port}`,
    `ListenAddress ${opts.address}`,
    `HostKey ${hostKey.privatePath}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UseDNS no',
    'AllowTcpForwarding yes',
    'MaxSessions 50',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    ...env,
    ...(opts.extraConfig ?? []),
  ];
  const cfgPath = join(dir, 'sshd_config');
  writeFileSync(cfgPath, `${config.join('\n')}\n`);
  const logPath = join(dir, 'sshd.log');
  const sshdArgv = [sshd, '-D', '-e', '-f', cfgPath];
  const argv = opts.netns
    ? [join(labScripts, 'netns-lab.sh'), 'target-exec', opts.netns.ns, opts.netns.hostname, logDir, ...sshdArgv]
    : sshdArgv;
  const daemon = startDaemon(argv, logPath);
  try {
    await waitForLog(logPath, /Server listening/, 10_000, daemon.pid);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  const hostPart = opts.port === 22 ? opts.address : `[${opts.address}]:${opts.port}`;
  const [type, blob] = hostKey.publicLine.split(' ');
  return {
    dir,
    address: opts.address,
    port: opts.port,
    pid: daemon.pid,
    hostKey,
    hostKeyFingerprint: fingerprintOf(`${hostKey.privatePath}.pub`),
    knownHostsLine: `${hostPart} ${type} ${blob}`,
    logDir,
    daemon,
    killConnections() {
      const kids = childPids(daemon.pid);
      for (const pid of kids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      return kids.length;
    },
    async stop() {
      for (const pid of childPids(daemon.pid)) await stopPid(pid, 1_000);
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
