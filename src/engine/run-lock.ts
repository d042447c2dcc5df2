import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConflictError } from '../core/errors.js';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** Is `pid` a live process on this host? (signal 0 probes without signalling) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process drives a run at a time: `lock` in the run directory holds the owner's pid.
 * A lock left by a dead process (crash, SIGKILL) on this host is taken over.
 */
export class RunLock {
  private constructor(private readonly path: string, private readonly token: string) {}

  static async acquire(runDir: string, now: Date): Promise<RunLock> {
    const path = join(runDir, 'lock');
    const owner: LockOwner = { pid: process.pid, host: hostname(), since: now.toISOString() };
    const token = JSON.stringify(owner);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(path, 'wx', 0o600);
        await handle.writeFile(token);
        await handle.sync();
        await handle.close();
        return new RunLock(path, token);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let held: LockOwner | undefined;
      try {
        held = JSON.parse(await readFile(path, 'utf8')) as LockOwner;
      } catch {
        held = undefined; // unreadable or half-written lock: the writer died before finishing it
      }
      if (held && (held.host !== owner.host || alive(held.pid)))
        throw new ConflictError(`run is being driven by process ${held.pid} on ${held.host} (since ${held.since})`, {
          hint:
            held.host === owner.host
              ? `wait for it to finish, or stop it (kill ${held.pid}) and resume; nothing was changed.`
              : `the lock is held from another host; if that process is gone, remove ${path} and resume.`,
        });
      await unlink(path).catch(() => undefined); // stale: the owner is gone
    }
    throw new ConflictError(`could not take the run lock ${path}`, { hint: 'another process raced for it; retry.' });
  }

  async release(): Promise<void> {
    try {
      if ((await readFile(this.path, 'utf8')) === this.token) await unlink(this.path);
    } catch {
      // already gone
    }
  }
}
