/**
 * A private Debian dockerd (scripts/lab/dockerd-lab.sh) with a registry-free busybox image.
 * Started in the foreground by pid, stopped by pid; its data root lives in a temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, type Daemon } from './daemons.js';
import { labScripts } from './sshd-lab.js';

export interface DockerLab {
  dir: string;
  socket: string;
  env: NodeJS.ProcessEnv;
  image: string;
  docker(args: string[]): string;
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<DockerLab> {
  // Short path: unix socket paths are limited to ~108 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'tir-dk-'));
  const socket = join(dir, 'docker.sock');
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  const daemon: Daemon = startDaemon([join(labScripts, 'dockerd-lab.sh'), 'run', dir], join(dir, 'dockerd.log'));
  const docker = (args: string[]) => execFileSync('docker', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async () => {
    try {
      const ids = docker(['ps', '-aq']).split('\n').filter(Boolean);
      if (ids.length) docker(['rm', '-f', ...ids]);
    } catch {
      /* daemon may already be gone */
    }
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      docker(['version', '--format', '{{.Server.Version}}']);
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        const log = readFileSync(join(dir, 'dockerd.log'), 'utf8').slice(-2000);
        await stop();
        throw new Error(`dockerd did not come up: ${(err as Error).message}\n${log}`, { cause: err });
      }
      await sleep(100);
    }
  }
  const image = 'local/busy:lab';
  try {
    execFileSync(join(labScripts, 'dockerd-lab.sh'), ['image', dir, image], { env, stdio: 'pipe' });
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, socket, env, image, docker, stop };
}
