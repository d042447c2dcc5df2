/**
 * The node-compromise playbook through the real CLI with a real OpenSSH sshd as the
 * compromised host (the lab's fake `tailscale`, `journalctl`, `systemctl` on its PATH) and the
 * simulated tailnet as the control plane: collection over real SSH, the archive's signature
 * checked by stock `ssh-keygen -Y verify`, and re-enrolment over SSH with the key on stdin,
 * which the fake `tailscale up` records and this test hands to the simulator's enrol endpoint.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrillLab, type DrillLab } from '../../../src/drill/drill-lab.js';
import { loadScenario } from '../../../src/drill/sim/scenario.js';
import { runCliKillable, soleRunId } from '../../support/cli-process.js';
import { readArchive } from '../support/archive-reader.js';
import { requireSystem } from '../support/requirements.js';
import { fakeNodeBin, freeLoopbackPort, makeKey, startSshd, type SshdInstance } from '../support/sshd-lab.js';

const signer = 'ir@example.test';

/** `ssh-keygen -Y verify` with the archive on stdin; asynchronous (the simulator lives in this process). */
function sshKeygenVerify(allowedSigners: string, archive: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', ['-Y', 'verify', '-f', allowedSigners, '-I', signer, '-n', 'tailnet-ir-evidence', '-s', `${archive}.sig`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(readFileSync(archive));
  });
}

/** The tagged server (its enrolling key is revoked) and the user-owned laptop (its owner is suspended; rebuilt as a tagged device). */
const cases = [
  { device: 'web-2', flags: [] as string[], rebuiltTags: 'tag:web', identity: 'key' },
  { device: 'bob-laptop', flags: ['--rebuild-tags', 'tag:workstation'], rebuiltTags: 'tag:workstation', identity: 'user' },
] as const;

describe.runIf(requireSystem(['root', 'sshd', 'ssh-keygen'], 'respond against a real sshd')).each(cases)('respond with a real OpenSSH host and the simulated tailnet ($device)', (c) => {
  let dir: string;
  let lab: DrillLab;
  let sshd: SshdInstance;
  let enrolFile: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;
  let rebuilt: Promise<void> | undefined;
  let targetNode: string;
  const acceptedPolicies: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tnir-sys-respond-'));
    lab = await startDrillLab({ scenario: await loadScenario(), dir: join(dir, 'lab'), target: c.device });
    enrolFile = join(dir, 'enrolment');
    const sshdOptions = {
      address: '127.0.0.1',
      port: await freeLoopbackPort(),
      authorizedKeys: [readFileSync(`${lab.identityFile}.pub`, 'utf8').trim()],
      setEnv: { PATH: `${fakeNodeBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, FAKE_TAILSCALE_ENROL_FILE: enrolFile },
    };
    sshd = await startSshd(sshdOptions);
    // The rebuilt machine has a new host key, pinned in advance; when the compromised node is
    // deleted the "rebuild" happens: the same address answers with the new key. (tailnet-ir
    // refuses to hand an auth key to a host still presenting the compromised node's key.)
    const rebuiltKey = makeKey(dir, 'rebuilt_hostkey', 'rebuilt-host');
    const [keyType, keyBlob] = rebuiltKey.publicLine.split(' ');
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n[127.0.0.1]:${sshdOptions.port} ${keyType} ${keyBlob}\n`);
    targetNode = lab.sim.tailnet.listDevices(false).find((d) => d.hostname === c.device)!.nodeId;
    // The restart takes a moment; minting the rebuild key waits for it, as a real rebuild would
    // be done before anyone approves the recreate step.
    lab.sim.faults.add({ kind: 'latency', route: 'POST /api/v2/tailnet/*/keys', ms: 3000 });
    lab.sim.tailnet.onMutation((e) => {
      // Every policy the simulated control server accepted (it runs the policy's tests on each write).
      if (e.action === 'UPDATE' && e.target.property === 'ACL') acceptedPolicies.push(lab.sim.tailnet.policy().text);
      if (e.action !== 'DELETE' || e.target.id !== targetNode) return;
      rebuilt = (async () => {
        await sshd.stop();
        sshd = await startSshd({ ...sshdOptions, hostKey: rebuiltKey });
      })();
    });
    configFile = join(dir, 'tailnet-ir.yaml');
    writeFileSync(
      configFile,
      [
        'responders: [group:incident-response]',
        'highRiskResources: ["prod-db:5432"]',
        'ssh:',
        '  user: root',
        `  identityFile: ${lab.identityFile}`,
        `  knownHosts: ${knownHosts}`,
        '  devices:',
        `    ${c.device}: { address: 127.0.0.1, port: ${sshd.port} }`,
        'evidence:',
        `  signingKey: ${lab.signingKeyFile}`,
        `  signerIdentity: ${signer}`,
        'approvals: { default: manual }',
        '',
      ].join('\n'),
    );
    env = { ...lab.apiEnv, TAILNET_IR_HOME: join(dir, 'home'), SSH_AUTH_SOCK: '' };
  });

  afterAll(async () => {
    await rebuilt?.catch(() => undefined);
    await sshd?.stop();
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('collects over real SSH, the archive verifies with ssh-keygen, the host re-enrols from stdin, nothing leaks the key', async () => {
    // The rebuilt host's `tailscale up` (the fake) leaves what it read; hand it to the control plane.
    let enrolled: { status: number; body: string } | undefined;
    let enrolledKey = '';
    const enrolWatcher = setInterval(() => {
      if (enrolled || enrolledKey || !existsSync(enrolFile)) return;
      const [host, tags, key] = readFileSync(enrolFile, 'utf8').split('\n');
      enrolledKey = key ?? '';
      expect(statSync(enrolFile).mode & 0o777).toBe(0o600);
      expect(tags).toBe(c.rebuiltTags);
      void fetch(`${lab.sim.url}/sim/v0/enroll`, {
        method: 'POST',
        headers: { authorization: `Bearer ${lab.sim.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ authKey: enrolledKey, hostname: host }),
      }).then(async (r) => (enrolled = { status: r.status, body: await r.text() }));
    }, 100);

    let r;
    try {
      r = await runCliKillable(['respond', c.device, '--config', configFile, '--approve', 'all', ...c.flags, '--json'], { env, timeoutMs: 150_000 });
    } finally {
      clearInterval(enrolWatcher);
    }
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const outcome = JSON.parse(r.stdout) as { runId: string; status: string; outputs: Record<string, Record<string, unknown>> };
    expect(outcome.status).toBe('completed');
    expect(enrolled?.status, enrolled?.body).toBe(200);

    // Collection went to the real sshd, not to the drill's simulated host.
    expect(lab.targetHost.commandLog).toEqual([]);
    const seal = outcome.outputs['seal'] as { archivePath: string; signaturePath: string };
    // allowed_signers for the evidence namespace, from the configured signing key.
    writeFileSync(join(dir, 'allowed_signers'), `${signer} namespaces="tailnet-ir-evidence" ${readFileSync(`${lab.signingKeyFile}.pub`, 'utf8').trim()}\n`);
    const good = await sshKeygenVerify(join(dir, 'allowed_signers'), seal.archivePath);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toContain(`Good "tailnet-ir-evidence" signature for ${signer}`);
    // The drill's allowed_signers names the same key for the drill namespace only: refused.
    const drillOnly = await sshKeygenVerify(lab.allowedSignersFile, seal.archivePath);
    expect(drillOnly.code).not.toBe(0);

    const entries = await readArchive(seal.archivePath);
    const status = [...entries].find(([name]) => name.includes('tailscale-client') && /status/.test(name));
    expect(status, [...entries.keys()].join('\n')).toBeDefined();
    // The fake answers with the machine's real hostname: the artifact came from the sshd host.
    expect(status![1].toString('utf8')).toContain(`"HostName":"${hostname()}"`);
    expect(entries.has('manifest.json')).toBe(true);

    // The quarantine the control server held: tests pin the node away from the high-risk
    // resource and keep the responders' SSH to its quarantine tag.
    const runId = soleRunId(env.TAILNET_IR_HOME!)!;
    const nodeIp = lab.sim.tailnet.listDevices(true).find((d) => d.nodeId === targetNode)?.addresses[0] ?? (outcome.outputs['triage'] as { device: { addresses: string[] } }).device.addresses[0]!;
    // (the last stage of the staged edit: "#N/N")
    const pinned = acceptedPolicies.find((p) => new RegExp(`tailnet-ir quarantine ${runId} #(\\d+)/\\1 begin`).test(p) && p.includes('"deny"'));
    expect(pinned, acceptedPolicies.join('\n----\n')).toBeDefined();
    expect(pinned).toContain(`{"src": "${nodeIp}", "deny": ["prod-db:5432"]}`);
    expect(pinned).toMatch(new RegExp(`\\{"src": "group:incident-response", "accept": \\["tag:quarantine-${runId}:22"\\]\\}`));
    // The run's hash-chained journal verifies through the CLI.
    const journal = await runCliKillable(['journal', 'verify', runId], { env, timeoutMs: 30_000 });
    expect(journal.code, journal.stdout + journal.stderr).toBe(0);

    // Identity contained: the enrolling key revoked, or the owner suspended.
    const audit = lab.sim.tailnet.auditLog();
    if (c.identity === 'user') expect(lab.sim.tailnet.listUsers('all').find((u) => u.loginName === 'bob@example.com')?.status).toBe('suspended');
    else expect(audit.filter((e) => e.action === 'REVOKE')).not.toHaveLength(0);
    // Re-enrolment: the old node gone, one new node with the rebuild tags; the key only ever went over stdin.
    expect(lab.sim.tailnet.listDevices(true).find((d) => d.nodeId === targetNode)).toBeUndefined();
    expect(audit.filter((e) => e.action === 'CREATE' && e.target.type === 'NODE')).toHaveLength(1);
    expect(lab.sim.tailnet.listDevices(false).filter((d) => d.hostname === c.device).map((d) => d.tags)).toEqual([[c.rebuiltTags]]);
    expect(enrolledKey.length).toBeGreaterThan(10);
    const runDir = join(env.TAILNET_IR_HOME!, 'runs', soleRunId(env.TAILNET_IR_HOME!)!);
    const leaks: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (readFileSync(p, 'latin1').includes(enrolledKey)) leaks.push(p);
      }
    };
    walk(runDir);
    for (const [name, data] of entries) if (data.toString('latin1').includes(enrolledKey)) leaks.push(`archive:${name}`);
    expect(leaks).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(enrolledKey);
  });
});
