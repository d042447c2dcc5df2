/**
 * Daemons the tests start: in the foreground, own process group, log to a file, stopped by pid.
 */
import { spawn, execFileSync } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Daemon {
  pid: number;
  logPath: string;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start `argv` detached with stdin/stdout on /dev/null and stderr to `logPath`. */
export function startDaemon(argv: string[], logPath: string, env?: NodeJS.ProcessEnv): Daemon {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('empty argv');
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`could not start ${cmd}`);
  return {
    pid,
    logPath,
    async stop() {
      await stopPid(pid);
    },
  };
}

/** SIGTERM the process group, wait (bounded), then SIGKILL. */
export async function stopPid(pid: number, graceMs = 5_000): Promise<void> {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-pid, sig);
    } catch {
      /* group gone */
    }
    try {
      process.kill(pid, sig);
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (!alive(pid)) return;
      await sleep(25);
    }
  }
}

/** Wait (bounded) until `pattern` shows up in a log file. */
export async function waitForLog(logPath: string, pattern: RegExp, timeoutMs = 10_000, pid?: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    if (pattern.test(text)) return;
    if (pid !== undefined && !alive(pid)) throw new Error(`daemon exited early; log:\n${text.slice(-2000)}`);
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${pattern} in ${logPath}:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
}

/** Direct children of a pid (e.g. sshd's per-connection processes). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Remote commands the tests leave behind on purpose (a killed session's `sleep`) carry a unique
 * command line; kill exactly those, by pid.
 */
export function killProcessesWithCommandLine(exactCommandLine: string): number {
  const pattern = `^${exactCommandLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  const out = spawnSyncText('pgrep', ['-f', pattern]);
  const pids = out.split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids.length;
}

function spawnSyncText(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' });
  } catch {
    return '';
  }
}
