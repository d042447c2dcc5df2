/**
 * The drill's simulated hosts are real SSH servers: stock OpenSSH, with strict host-key
 * checking against the lab's known_hosts, must log in with the responder key and run commands.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrillLab, type DrillLab } from '../../../src/drill/drill-lab.js';
import { loadScenario } from '../../../src/drill/sim/scenario.js';
import { requireSystem } from '../support/requirements.js';

const run = promisify(execFile);

describe.runIf(requireSystem(['ssh'], 'simulated host vs OpenSSH'))('simulated host with the OpenSSH client', () => {
  let lab: DrillLab;
  beforeAll(async () => {
    lab = await startDrillLab({ scenario: await loadScenario(), dir: mkdtempSync(join(tmpdir(), 'tnir-sys-lab-')) });
  });
  afterAll(async () => lab?.close());

  // Async execFile: the simulated host runs in this process, so a synchronous child would deadlock.
  const ssh = (knownHosts: string, command: string) =>
    run(
      'ssh',
      ['-F', 'none', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ConnectTimeout=5', '-i', lab.identityFile, '-p', String(lab.targetHost.port), 'root@127.0.0.1', command],
      { encoding: 'utf8', timeout: 15_000 },
    );

  it('logs in with the responder key and a pinned host key', async () => {
    const { stdout } = await ssh(lab.knownHostsFile, `'tailscale' 'status' '--json'`);
    expect(JSON.parse(stdout).Self.HostName).toBe('web-2');
  });

  it('refuses to connect when the pinned host key does not match', async () => {
    const wrong = join(lab.dir, 'wrong_known_hosts');
    writeFileSync(wrong, `[127.0.0.1]:${lab.targetHost.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`);
    await expect(ssh(wrong, `'true'`)).rejects.toMatchObject({ stderr: expect.stringMatching(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/) });
  });
});
