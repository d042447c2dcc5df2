import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireSystem } from '../support/requirements.js';
import { fakeNodeBin, makeKey, type KeyPair } from '../support/sshd-lab.js';
import { killProcessesWithCommandLine } from '../support/daemons.js';
import { runCliInNetns, runScriptInNetns, startNetnsLab, SUBNET, type NetnsLab } from '../support/netns-lab.js';
import type { PortsRequest, PortsStepResult } from '../support/engine-ports-in-netns.js';
import { readArchive } from '../support/archive-reader.js';
import { runCli } from '../../support/run-cli.js';
import { verifyArchive } from '../../../src/evidence/verify-archive.js';
import type { EvidenceManifest } from '../../../src/evidence/manifest.js';
import type { Device } from '../../../src/tailnet/types.js';

const REQS = ['root', 'sshd', 'ssh-keygen', 'ip', 'nft', 'unshare'] as const;
const enginePortsScript = fileURLToPath(new URL('../support/engine-ports-in-netns.ts', import.meta.url));
const GiB = 1024 * 1024 * 1024;

describe.runIf(requireSystem(REQS, 'evidence collection (network-namespace lab)'))(
  'tailnet-ir collect in a network-namespace lab with two target hosts',
  () => {
    let dir: string;
    let lab: NetnsLab;
    let client: KeyPair;
    let signKey: string;
    let collectorsDir: string;
    let enrolFile: string;
    // A per-run duration marks our remote sleep, so pgrep cannot match one from another run.
    const sleepMark = `20.${String(process.pid % 1000).padStart(3, '0')}`;

    const base = () => ['--known-hosts', lab.knownHosts, '--identity', client.privatePath, '--connect-timeout', '5'];
    const manifestOf = async (archive: string) =>
      JSON.parse((await readArchive(archive, 4 << 20)).get('manifest.json')?.toString() ?? '{}') as EvidenceManifest;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tir-netns-'));
      client = makeKey(dir, 'client');
      // Where the lab's fake `tailscale up` leaves what a re-enrolment handed it.
      enrolFile = join(dir, 'enrolment');
      lab = await startNetnsLab({
        targets: 2,
        authorizedKeys: [client.publicLine],
        setEnv: { PATH: `${fakeNodeBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, FAKE_TAILSCALE_ENROL_FILE: enrolFile },
        knownHostsPath: join(dir, 'known_hosts'),
      });
      for (const t of lab.targets)
        writeFileSync(join(t.sshd.logDir, 'auth.log'), `Jan  1 00:00:00 ${t.hostname} sshd[1]: Accepted publickey for root from ${SUBNET}.1\n`);
      signKey = join(dir, 'sign');
      expect((await runCli(['keygen', '--out', signKey, '--identity', 'ir@example.test'])).code).toBe(0);
      collectorsDir = join(dir, 'collectors');
      mkdirSync(collectorsDir);
      writeFileSync(
        join(collectorsDir, 'lab.yaml'),
        [
          'id: lab',
          'description: lab-only artifacts for failure tests',
          'artifacts:',
          '  - name: slow-stream.bin',
          `    argv: [sh, -c, "head -c 1000000 /dev/zero; sleep ${sleepMark}; echo never"]`,
          '    timeoutSeconds: 60',
          '  - name: after.txt',
          '    argv: [hostname]',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(collectorsDir, 'big.yaml'),
        ['id: big', 'description: one GiB artifact', 'artifacts:', '  - name: one-gib.bin', '    argv: [head, -c, "1073741824", /dev/zero]', '    timeoutSeconds: 600', '    maxBytes: 2147483648', ''].join('\n'),
      );
    });

    afterAll(async () => {
      killProcessesWithCommandLine(`sleep ${sleepMark}`);
      await lab?.down();
      rmSync(dir, { recursive: true, force: true });
    });

    it('has no route out of the lab', () => {
      expect(lab.execInClient(['ip', 'route', 'show'])).not.toMatch(/default/);
    });

    it('collects from two hosts with their own hostnames and logs, directly and through a jump host', async () => {
      const out = join(dir, 'two.tar.gz');
      const r = await runCliInNetns(lab.clientNs, [
        'collect', '--host', `root@${SUBNET}.11`, '--host', `root@${SUBNET}.12`, ...base(),
        '--collectors', 'host-triage,tailscale-client', '--out', out, '--sign-key', signKey, '--json',
      ]).result;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const entries = await readArchive(out);
      for (const [i, t] of lab.targets.entries()) {
        expect(entries.get(`artifacts/${t.address}/host-triage/hostname.txt`)?.toString()).toBe(`target-${i + 1}\n`);
        expect(entries.get(`artifacts/${t.address}/host-triage/auth.log`)?.toString()).toContain(`${t.hostname} sshd[1]: Accepted publickey`);
        expect(entries.get(`artifacts/${t.address}/tailscale-client/status.json`)?.toString()).toContain(`"HostName":"target-${i + 1}"`);
      }
      const m = JSON.parse(entries.get('manifest.json')?.toString() ?? '{}') as EvidenceManifest;
      expect(m.hosts.map((h) => h.hostKeyFingerprint)).toEqual(lab.targets.map((t) => t.sshd.hostKeyFingerprint));
      const ssh = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', `${signKey}.allowed_signers`, '-I', 'ir@example.test', '-n', 'tailnet-ir-evidence', '-s', `${out}.sig`], { input: readFileSync(out) });
      expect(ssh.status).toBe(0);

      const viaJump = join(dir, 'jump.tar.gz');
      const j = await runCliInNetns(lab.clientNs, [
        'collect', '--jump', `root@${SUBNET}.11`, '--host', `root@${SUBNET}.12`, ...base(), '--collectors', 'host-triage', '--out', viaJump, '--json',
      ]).result;
      expect(j.code).toBe(0);
      const jm = await manifestOf(viaJump);
      expect(jm.hosts[0]?.jump).toMatchObject({ address: `${SUBNET}.11`, hostKeyFingerprint: lab.targets[0]?.sshd.hostKeyFingerprint });
      expect((await readArchive(viaJump)).get(`artifacts/${SUBNET}.12/host-triage/hostname.txt`)?.toString()).toBe('target-2\n');
    });

    it("routes each device of one config its own way: one through its jump host into an otherwise unreachable namespace, one direct", async () => {
      const [t1, t2] = lab.targets;
      if (!t1 || !t2) throw new Error('lab has two targets');
      // Target 2 refuses SSH from the client namespace: only target 1 (the jump host) reaches it.
      execFileSync('ip', ['netns', 'exec', t2.ns, 'nft', '-f', '-'], {
        input: `table inet labjump {\n  chain input {\n    type filter hook input priority 0;\n    ip saddr ${SUBNET}.1 tcp dport 22 reject with tcp reset\n  }\n}\n`,
      });
      try {
        const direct = await runCliInNetns(lab.clientNs, ['collect', '--host', `root@${SUBNET}.12`, ...base(), '--collectors', 'host-triage', '--out', join(dir, 'direct-t2.tar.gz'), '--json']).result;
        expect(direct.code).toBe(3);
        expect(JSON.parse(direct.stdout).hosts[0].error).toMatch(/ECONNREFUSED/);

        // The global jump (.99) answers nowhere: target 1 is reached only because its entry says
        // `none`, target 2 only through its own jump host, target 1.
        const config = join(dir, 'jumps.yaml');
        writeFileSync(
          config,
          [
            'ssh:',
            '  user: root',
            `  identityFile: ${client.privatePath}`,
            `  knownHosts: ${lab.knownHosts}`,
            `  jump: root@${SUBNET}.99`,
            '  connectTimeout: 5s',
            '  devices:',
            `    nLABT1: { address: ${SUBNET}.11, jump: none }`,
            `    target-2: { address: ${SUBNET}.12, jump: root@${SUBNET}.11 }`,
            'collection: { collectors: [host-triage] }',
            '',
          ].join('\n'),
        );
        const node = (nodeId: string, label: string, hostname: string, address: string): Device => ({
          id: nodeId, nodeId, name: `${label}.lab.ts.net`, hostname, addresses: [address], user: 'ir@example.test', tags: ['tag:lab'],
        });
        const authKey = `tskey-auth-kLAB${process.pid}-NOTAREALSECRET`;
        const request: PortsRequest = {
          config,
          stateHome: join(dir, 'state'),
          steps: [
            { action: 'collect', runId: 'lab-t1', device: node('nLABT1', 'target-1', 'target-1', '100.64.0.11') },
            { action: 'collect', runId: 'lab-t2', device: node('nLABT2', 'target-2', 'target-2', '100.64.0.12') },
            // A node that calls itself target-2 is routed by its own names: not through target-2's jump host.
            { action: 'route', runId: 'lab-evil', device: node('nEVIL', 'evil', 'target-2', `${SUBNET}.12`) },
            // Re-enrolment of the rebuilt target 2 takes the same route (a fresh run: no host key recorded).
            { action: 'enrol', runId: 'lab-enrol', device: node('nLABT2', 'target-2', 'target-2', '100.64.0.12'), authKey },
          ],
        };
        const requestFile = join(dir, 'ports-request.json');
        writeFileSync(requestFile, JSON.stringify(request), { mode: 0o600 });
        const t2LogFrom = readFileSync(t2.sshd.daemon.logPath, 'utf8').length;
        const run = await runScriptInNetns(lab.clientNs, enginePortsScript, [requestFile]).result;
        expect(run.code, run.stderr).toBe(0);
        const [c1, c2, evil, enrol] = JSON.parse(run.stdout) as PortsStepResult[];

        expect(c1?.error).toBeUndefined();
        expect(c1?.route).toEqual({ address: `${SUBNET}.11`, port: 22, user: 'root', path: 'out-of-band' });
        const m1 = await manifestOf(c1?.archivePath ?? '');
        expect(m1.hosts[0]).toMatchObject({ address: `${SUBNET}.11`, connected: true, hostKeyFingerprint: t1.sshd.hostKeyFingerprint });
        expect(m1.hosts[0]).not.toHaveProperty('jump');
        expect((await readArchive(c1?.archivePath ?? '')).get('artifacts/target-1/host-triage/hostname.txt')?.toString()).toBe('target-1\n');

        expect(c2?.error).toBeUndefined();
        expect(c2?.route).toEqual({
          address: `${SUBNET}.12`, port: 22, user: 'root', path: 'out-of-band', via: `root@${SUBNET}.11:22`, jump: { address: `${SUBNET}.11`, port: 22, user: 'root' },
        });
        const m2 = await manifestOf(c2?.archivePath ?? '');
        expect(m2.hosts[0]).toMatchObject({
          address: `${SUBNET}.12`,
          connected: true,
          hostKeyFingerprint: t2.sshd.hostKeyFingerprint,
          jump: { address: `${SUBNET}.11`, port: 22, user: 'root', hostKeyFingerprint: t1.sshd.hostKeyFingerprint },
        });
        expect((await readArchive(c2?.archivePath ?? '')).get('artifacts/target-2/host-triage/hostname.txt')?.toString()).toBe('target-2\n');
        // Target 2's sshd let in sessions from the jump host only (collection and re-enrolment).
        const t2Logins = readFileSync(t2.sshd.daemon.logPath, 'utf8').slice(t2LogFrom).match(/Accepted publickey for root from \S+/g);
        expect(t2Logins).toEqual([`Accepted publickey for root from ${SUBNET}.11`, `Accepted publickey for root from ${SUBNET}.11`]);

        expect(evil?.route).toEqual({ address: `${SUBNET}.12`, port: 22, user: 'root', path: 'tailnet', via: `root@${SUBNET}.99:22`, jump: { address: `${SUBNET}.99`, port: 22, user: 'root' } });

        expect(enrol?.error).toBeUndefined();
        expect(enrol?.detail).toBe(`tailscale up on ${SUBNET}.12:22 (out-of-band via root@${SUBNET}.11:22); key passed on stdin`);
        expect(readFileSync(enrolFile, 'utf8')).toBe(`target-2\ntag:lab\n${authKey}\n`);
        expect(run.stdout + run.stderr).not.toContain(authKey);
      } finally {
        execFileSync('ip', ['netns', 'exec', t2.ns, 'nft', 'delete', 'table', 'inet', 'labjump']);
      }
    });

    it('records an unreachable host (no route, silent drop) and still collects from the reachable one', async () => {
      const t2 = lab.targets[1];
      if (!t2) throw new Error('lab has no second target');
      // Target 2 silently drops SSH: the handshake times out. 10.213.0.99 does not exist at all.
      execFileSync('ip', ['netns', 'exec', t2.ns, 'nft', '-f', '-'], {
        input: 'table inet labfault {\n  chain input {\n    type filter hook input priority 0;\n    tcp dport 22 drop\n  }\n}\n',
      });
      try {
        const out = join(dir, 'unreach.tar.gz');
        const r = await runCliInNetns(lab.clientNs, [
          'collect', '--host', `root@${SUBNET}.99`, '--host', `root@${SUBNET}.12`, '--host', `root@${SUBNET}.11`, ...base(),
          '--collectors', 'host-triage', '--out', out, '--json',
        ]).result;
        expect(r.code).toBe(3);
        expect(r.ms).toBeLessThan(40_000);
        const m = await manifestOf(out);
        expect(m.hosts.map((h) => [h.label, h.connected])).toEqual([
          [`${SUBNET}.99`, false],
          [`${SUBNET}.12`, false],
          [`${SUBNET}.11`, true],
        ]);
        expect(m.hosts[0]?.error).toMatch(/EHOSTUNREACH|ENETUNREACH|Timed out/);
        expect(m.hosts[1]?.error).toMatch(/Timed out while waiting for handshake/);
        expect(m.artifacts.every((a) => a.host === `${SUBNET}.11`)).toBe(true);
        expect(m.artifacts.length).toBeGreaterThan(5);
      } finally {
        execFileSync('ip', ['netns', 'exec', t2.ns, 'nft', 'delete', 'table', 'inet', 'labfault']);
      }
    });

    it('marks the artifact partial when the connection is killed mid-stream, reconnects once and continues', async () => {
      const t1 = lab.targets[0];
      if (!t1) throw new Error('lab has no target');
      const out = join(dir, 'killed.tar.gz');
      const run = runCliInNetns(lab.clientNs, [
        'collect', '--host', `root@${SUBNET}.11`, ...base(), '--collectors-dir', collectorsDir, '--collectors', 'lab', '--out', out, '--json',
      ]);
      // Wait (bounded) until the slow artifact is streaming, then kill the SSH session.
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i++) {
        await sleep(100);
        // The sleep runs once the first megabyte was written; give that a moment to arrive.
        const procs = spawnSync('pgrep', ['-f', `^sleep ${sleepMark.replace('.', '\\.')}$`], { encoding: 'utf8' }).stdout.trim();
        if (procs) {
          await sleep(300);
          killed = t1.sshd.killConnections();
        }
      }
      expect(killed).toBeGreaterThan(0);
      const r = await run.result;
      expect(r.code).toBe(1);
      const m = await manifestOf(out);
      const slow = m.artifacts.find((a) => a.name === 'slow-stream.bin');
      expect(slow, JSON.stringify(slow)).toMatchObject({ partial: true, exitCode: null, bytes: 1_000_000 });
      expect(slow?.error).toContain('connection lost');
      expect(m.artifacts.find((a) => a.name === 'after.txt')).toMatchObject({ exitCode: 0, partial: false });
      expect(m.hosts[0]?.reconnects).toBe(1);
      expect((await verifyArchive(out, { requireSignature: false })).ok).toBe(true);
    });

    it('streams a 1 GiB artifact into the archive with the right hash, and verify names a tampered byte', async () => {
      const out = join(dir, 'big.tar.gz');
      const r = await runCliInNetns(lab.clientNs, [
        'collect', '--host', `root@${SUBNET}.12`, ...base(), '--collectors-dir', collectorsDir, '--collectors', 'big', '--out', out, '--sign-key', signKey, '--json',
      ], 300_000).result;
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const zeros = createHash('sha256');
      const chunk = Buffer.alloc(8 << 20);
      for (let n = 0; n < GiB; n += chunk.length) zeros.update(chunk);
      const m = await manifestOf(out);
      expect(m.artifacts[0]).toMatchObject({ name: 'one-gib.bin', bytes: GiB, sha256: zeros.digest('hex'), truncated: false });
      const ok = await runCli(['verify', out, '--allowed-signers', `${signKey}.allowed_signers`, '--identity', 'ir@example.test'], { timeoutMs: 120_000 });
      expect(ok.code).toBe(0);

      // Flip one byte inside the compressed body: verify must fail and name the artifact.
      const fd = execFileSync('stat', ['-c', '%s', out], { encoding: 'utf8' });
      const size = Number(fd.trim());
      const at = Math.floor(size / 2);
      const buf = readFileSync(out);
      buf[at] = (buf[at] ?? 0) ^ 0xff;
      writeFileSync(out, buf);
      const bad = await runCli(['verify', out, '--json'], { timeoutMs: 120_000 });
      expect(bad.code).toBe(1);
      const report = JSON.parse(bad.stdout) as { problems: { file: string }[] };
      expect(report.problems.map((p) => p.file)).toEqual(expect.arrayContaining([`${out}.sig`, `artifacts/${SUBNET}.12/big/one-gib.bin`]));
    });
  },
);
