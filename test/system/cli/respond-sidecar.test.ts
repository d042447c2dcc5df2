/**
 * The node-compromise playbook through the real CLI against the simulated tailnet, where the
 * compromised node is a ScaleTail-style sidecar: a docker compose project (run by the real
 * docker-compose on a private dockerd) on a container host reached over a real OpenSSH sshd.
 * Evidence is collected from the container host; the rebuild uses the sidecar method: `.env`'s
 * TS_AUTHKEY rewritten from stdin, the project taken down, the sidecar's state cleared and the
 * project brought up again. The fake sidecar image behaves like tailscale/tailscale with
 * TS_AUTH_ONCE=true (stored state is reused, the key read only without it) and records the key
 * it logged in with; the test hands that key to the simulator's enrolment.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrillLab, type DrillLab } from '../../../src/drill/drill-lab.js';
import { loadScenario } from '../../../src/drill/sim/scenario.js';
import type { Device } from '../../../src/tailnet/types.js';
import { runCliKillable, soleRunId } from '../../support/cli-process.js';
import { readArchive } from '../support/archive-reader.js';
import { startDockerd, type DockerLab } from '../support/dockerd-lab.js';
import { requireSystem } from '../support/requirements.js';
import { fakeNodeBin, freeLoopbackPort, labScripts, startSshd, type SshdInstance } from '../support/sshd-lab.js';

const run = promisify(execFile);
const containerboot = fileURLToPath(new URL('../support/fake-sidecar/containerboot', import.meta.url));
const recordSshCommand = fileURLToPath(new URL('../support/record-ssh-command', import.meta.url));
const sidecarImage = 'tailscale/tailscale:lab-fake';
const oldKey = ['tskey', 'auth', 'kOLDSIDECAR', 'CNTRL-0ld5ecretNotReal'].join('-');

const composeFile = [
  '# ScaleTail-shaped, host-free: no network (the lab dockerd has no bridge), no /dev/net/tun.',
  'services:',
  '  tailscale:',
  `    image: ${sidecarImage}`,
  '    container_name: tailscale-${SERVICE}',
  '    hostname: ${SERVICE}',
  '    network_mode: none',
  '    environment:',
  '      - TS_AUTHKEY=${TS_AUTHKEY}',
  '      - TS_STATE_DIR=/var/lib/tailscale',
  '      - TS_USERSPACE=false',
  '      - TS_AUTH_ONCE=true',
  '    volumes:',
  '      - ./config:/config',
  '      - ./ts/state:/var/lib/tailscale',
  '      - ../record:/record',
  '    restart: always',
  '  application:',
  '    image: local/busy:lab',
  '    container_name: app-${SERVICE}',
  '    network_mode: service:tailscale',
  '    depends_on:',
  '      - tailscale',
  `    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]`,
  '    restart: always',
  '',
].join('\n');

/** Processes whose argv holds anything shaped like a Tailscale key (sampled from /proc). */
function argvWithKeys(): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (argv.includes('tskey-')) hits.push(`${pid}: ${argv.replace(/\0/g, ' ')}`);
    } catch {
      /* gone */
    }
  }
  return hits;
}

describe.runIf(requireSystem(['root', 'sshd', 'ssh-keygen', 'dockerd', 'docker', 'runc', 'busybox', 'docker-compose'], 'respond with a sidecar rebuild'))(
  'respond with a ScaleTail sidecar on a real container host and the simulated tailnet',
  () => {
    let dir: string;
    let lab: DrillLab;
    let dockerLab: DockerLab;
    let sshd: SshdInstance;
    let project: string;
    let record: string;
    let commands: string;
    let configFile: string;
    let env: NodeJS.ProcessEnv;
    let envBefore: string;
    let dockerEnv: NodeJS.ProcessEnv;
    const docker = async (args: string[]) => (await run('docker', args, { env: dockerEnv, timeout: 60_000 })).stdout;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tnir-sys-sidecar-'));
      lab = await startDrillLab({ scenario: await loadScenario(), dir: join(dir, 'lab') });
      dockerLab = await startDockerd();
      dockerEnv = dockerLab.env;
      await run(join(labScripts, 'dockerd-lab.sh'), ['entrypoint-image', dockerLab.dir, sidecarImage, containerboot], { env: dockerEnv, timeout: 60_000 });

      // The deployment as the compromised sidecar left it: enrolled with the old key, identity in ts/state.
      project = join(dir, 'web-2');
      record = join(dir, 'record');
      commands = join(dir, 'ssh-commands');
      for (const d of [join(project, 'config'), join(project, 'ts', 'state'), record, commands]) mkdirSync(d, { recursive: true });
      writeFileSync(join(project, 'compose.yaml'), composeFile);
      envBefore = [
        '# ScaleTail .env — keep out of git',
        'SERVICE=web-2',
        'IMAGE_URL=ghcr.io/example/app:1.4.2',
        'SERVICEPORT=8080',
        'DNS_SERVER=9.9.9.9',
        `TS_AUTHKEY=${oldKey}`,
        'TZ=Europe/Amsterdam',
        'PUID=1000',
        'PGID=1000',
        'EXTRA="quoted $value \\ with `ticks`"',
        '',
      ].join('\n');
      writeFileSync(join(project, '.env'), envBefore, { mode: 0o600 });
      await run('docker-compose', ['up', '-d'], { cwd: project, env: dockerEnv, timeout: 120_000 });
      for (let i = 0; i < 100 && !existsSync(join(record, 'enrolment')); i++) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(join(record, 'enrolment'), 'utf8')).toBe(`web-2\n${oldKey}\n`);
      rmSync(join(record, 'enrolment'));

      sshd = await startSshd({
        address: '127.0.0.1',
        port: await freeLoopbackPort(),
        authorizedKeys: [readFileSync(`${lab.identityFile}.pub`, 'utf8').trim()],
        setEnv: {
          PATH: `${fakeNodeBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
          DOCKER_HOST: `unix://${dockerLab.socket}`,
          RECORD_SSH_COMMANDS: commands,
        },
        extraConfig: [`ForceCommand ${recordSshCommand}`],
      });
      const knownHosts = join(dir, 'known_hosts');
      writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
      configFile = join(dir, 'tailnet-ir.yaml');
      writeFileSync(
        configFile,
        [
          'responders: [group:incident-response]',
          'ssh:',
          '  user: root',
          `  identityFile: ${lab.identityFile}`,
          `  knownHosts: ${knownHosts}`,
          '  devices:',
          '    # the container host: the sidecar itself has no sshd',
          `    web-2: { address: 127.0.0.1, port: ${sshd.port} }`,
          'evidence:',
          `  signingKey: ${lab.signingKeyFile}`,
          '  signerIdentity: ir@example.test',
          'rebuild:',
          '  devices:',
          `    web-2: { method: sidecar, sidecar: { directory: ${project}, compose: [docker-compose] } }`,
          'approvals: { default: manual }',
          '',
        ].join('\n'),
      );
      env = { ...lab.apiEnv, TAILNET_IR_HOME: join(dir, 'home'), SSH_AUTH_SOCK: '' };
    });

    afterAll(async () => {
      if (project && dockerEnv) await run('docker-compose', ['down'], { cwd: project, env: dockerEnv, timeout: 60_000 }).catch(() => undefined);
      await sshd?.stop();
      await dockerLab?.stop();
      await lab?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('re-enrols the sidecar (after a refused first attempt): new key from stdin into .env, old identity cleared, project recreated; no key leaks', async () => {
      // The rebuilt sidecar's login (the fake containerboot records it): hand it to the control plane.
      let newKey = '';
      let enrolled: Device | Error | undefined;
      let recordMode = 0;
      const watcher = setInterval(() => {
        if (enrolled || !existsSync(join(record, 'enrolment'))) return;
        recordMode = statSync(join(record, 'enrolment')).mode & 0o777;
        const [host, key] = readFileSync(join(record, 'enrolment'), 'utf8').split('\n');
        newKey = key ?? '';
        try {
          enrolled = lab.sim.tailnet.enroll({ authKey: newKey, hostname: host });
        } catch (err) {
          enrolled = err as Error;
        }
      }, 100);
      // Sample every process's argv while the run goes on: no key, old or new, may ever be there.
      const argvLeaks = new Set<string>();
      let samples = 0;
      const sampler = setInterval(() => {
        samples++;
        for (const hit of argvWithKeys()) argvLeaks.add(hit);
      }, 50);

      // First the operator's .env has the key under another name: step 1 refuses, changes nothing,
      // the minted key is revoked and the run pauses; fixed, `resume` re-enrols.
      const envTypo = envBefore.replace('TS_AUTHKEY=', 'TS_AUTH_KEY=');
      writeFileSync(join(project, '.env'), envTypo);
      const sidecarBefore = (await docker(['inspect', '-f', '{{.Id}}', 'tailscale-web-2'])).trim();
      let first;
      let r;
      const started = Date.now();
      let resumedAt: number | undefined;
      try {
        first = await runCliKillable(['respond', 'web-2', '--config', configFile, '--approve', 'all', '--json'], { env, timeoutMs: 170_000 });
        expect(first.code, first.stdout + first.stderr).toBe(5);
        const paused = JSON.parse(first.stdout) as { runId: string; status: string; step: string; message: string };
        expect(paused).toMatchObject({ status: 'paused', step: 'recreate' });
        expect(paused.message).toMatch(/step 1\/3 \(rewrite TS_AUTHKEY in \.env\) failed on root@127\.0\.0\.1:\d+ in \S+ \(exit 15\): tailnet-ir: \.env has no TS_AUTHKEY= line/);
        // A refusal, not retried: exactly one key was minted, and it is revoked.
        const minted = lab.sim.tailnet.listKeysAll().filter((k) => k.description?.startsWith('tailnet-ir rebuild'));
        expect(minted.map((k) => Boolean(k.revoked))).toEqual([true]);
        expect(readFileSync(join(project, '.env'), 'utf8')).toBe(envTypo);
        expect((await docker(['inspect', '-f', '{{.Id}}', 'tailscale-web-2'])).trim()).toBe(sidecarBefore);
        expect(readFileSync(join(record, 'boots'), 'utf8').trim().split('\n')).toHaveLength(1);

        writeFileSync(join(project, '.env'), envBefore);
        resumedAt = Date.now();
        r = await runCliKillable(['resume', paused.runId, '--config', configFile, '--approve', 'all', '--json'], { env, timeoutMs: 170_000 });
      } finally {
        clearInterval(watcher);
        clearInterval(sampler);
      }
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const outcome = JSON.parse(r.stdout) as { runId: string; status: string; outputs: Record<string, Record<string, unknown>> };
      expect(outcome.status).toBe('completed');
      expect(outcome.outputs['recreate']).toMatchObject({ enrolMethod: 'sidecar', tags: ['tag:web'], hostname: 'web-2' });
      const runDir = join(env.TAILNET_IR_HOME!, 'runs', soleRunId(env.TAILNET_IR_HOME!)!);
      const journal = readFileSync(join(runDir, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: string; time: string });
      // The resumed attempt reuses the first attempt's intent (same plan) and journals a check before acting.
      const at = (...types: string[]) => Date.parse(journal.filter((e) => e.step === 'recreate' && types.includes(e.type)).at(-1)!.time);
      process.stderr.write(
        `[sidecar respond] respond to the pause ${((resumedAt! - started) / 1000).toFixed(1)} s, resume to completion ${((Date.now() - resumedAt!) / 1000).toFixed(1)} s ` +
          `(recreate: mint + sidecar hand-over ${((at('done') - at('intent', 'check')) / 1000).toFixed(1)} s), ${samples} argv samples\n`,
      );

      // The key the sidecar logged in with is the one the simulator minted (enrol accepts only that), once.
      expect(enrolled, String(enrolled)).not.toBeInstanceOf(Error);
      expect(newKey).toMatch(/^tskey-auth-/);
      expect(newKey).not.toBe(oldKey);
      expect(recordMode).toBe(0o600);
      const audit = lab.sim.tailnet.auditLog();
      expect(audit.filter((e) => e.action === 'CREATE' && e.target.type === 'NODE')).toHaveLength(1);
      const keys = lab.sim.tailnet.listKeysAll().filter((k) => k.description?.startsWith('tailnet-ir rebuild'));
      expect(keys.map((k) => [Boolean(k.revoked), Boolean(k.invalid)])).toEqual([[true, true], [false, true]]);
      const web2 = lab.sim.tailnet.listDevices(false).filter((d) => d.hostname === 'web-2');
      expect(web2.map((d) => [d.nodeId, d.tags])).toEqual([[(enrolled as Device).nodeId, ['tag:web']]]);

      // The old identity was cleared: both boots logged in fresh (none reused the state), as different nodes.
      const boots = readFileSync(join(record, 'boots'), 'utf8').trim().split('\n');
      expect(boots).toHaveLength(2);
      expect(boots.every((b) => b.startsWith('fresh '))).toBe(true);
      expect(boots[0]).not.toBe(boots[1]);
      expect(readdirSync(join(project, 'ts', 'state'))).toEqual(['tailscaled.state']);
      expect(`fresh ${readFileSync(join(project, 'ts', 'state', 'tailscaled.state'), 'utf8')}`).toBe(boots[1]);

      // .env: only the key's line changed; same mode; no temp file left.
      expect(readFileSync(join(project, '.env'), 'utf8')).toBe(envBefore.replace(`TS_AUTHKEY=${oldKey}`, `TS_AUTHKEY=${newKey}`));
      expect(statSync(join(project, '.env')).mode & 0o777).toBe(0o600);
      expect(readdirSync(project).sort()).toEqual(['.env', 'compose.yaml', 'config', 'ts']);

      // The project runs again: the sidecar, and the app in its network namespace.
      const sidecarId = (await docker(['inspect', '-f', '{{.Id}} {{.State.Running}}', 'tailscale-web-2'])).trim().split(' ');
      expect(sidecarId[1]).toBe('true');
      expect((await docker(['inspect', '-f', '{{.State.Running}} {{.HostConfig.NetworkMode}}', 'app-web-2'])).trim()).toBe(`true container:${sidecarId[0]}`);

      // What went over SSH: the fixed sidecar scripts among the collectors' commands; no key in any command line.
      const sent = readdirSync(commands).map((f) => readFileSync(join(commands, f), 'utf8'));
      // (step 1 twice: the refused attempt and the resumed one)
      expect([1, 2, 3].map((n) => sent.filter((c) => c.includes(`'tailnet-ir-sidecar-step${n}' '${project}'`)).length)).toEqual([2, 1, 1]);
      expect(sent.filter((c) => c.includes('tskey-'))).toEqual([]);
      expect(samples).toBeGreaterThan(10);
      expect([...argvLeaks]).toEqual([]);

      // No copy of either key in the run directory, the archive or the CLI output.
      const seal = outcome.outputs['seal'] as { archivePath: string };
      const entries = await readArchive(seal.archivePath);
      // Evidence came from the container host: the sidecar's container and the project's .env (redacted).
      const names = [...entries.keys()];
      expect(names.some((n) => n.includes('scaletail') && n.endsWith('env.redacted')), names.join('\n')).toBe(true);
      expect(names.some((n) => n.includes('containers/') && n.endsWith('inspect.json'))).toBe(true);
      // The old identity that step 2 cleared is on record: its files' hashes, not its private keys.
      const stateHashes = [...entries].find(([n]) => n.includes('scaletail') && n.endsWith('ts-state.sha256'));
      const oldNode = boots[0]!.replace(/^fresh /, '');
      expect(stateHashes?.[1].toString('utf8'), names.join('\n')).toBe(`${createHash('sha256').update(oldNode).digest('hex')}  ts/state/tailscaled.state\n`);
      for (const [, data] of entries) expect(data.includes(oldNode)).toBe(false);
      const leaks: string[] = [];
      const walk = (d: string): void => {
        for (const name of readdirSync(d)) {
          const p = join(d, name);
          if (statSync(p).isDirectory()) walk(p);
          else for (const k of [newKey, oldKey]) if (readFileSync(p, 'latin1').includes(k)) leaks.push(p);
        }
      };
      walk(runDir);
      for (const [name, data] of entries) for (const k of [newKey, oldKey]) if (data.toString('latin1').includes(k)) leaks.push(`archive:${name}`);
      expect(leaks).toEqual([]);
      expect(first!.stdout + first!.stderr + r.stdout + r.stderr).not.toContain(newKey);
    });
  },
);
