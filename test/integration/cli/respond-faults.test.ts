/**
 * The real `respond`/`resume` processes against the simulated tailnet with injected faults: a
 * concurrent policy edit (412), a burst of rate limiting, a forbidden suspend, and an
 * unreachable SSH host. Each must end in a completed run or a clear, resumable pause, and no
 * change may be applied twice.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { startDrillLab, type DrillLab } from '../../../src/drill/drill-lab.js';
import { loadScenario } from '../../../src/drill/sim/scenario.js';
import { readJournal, runCliKillable } from '../../support/cli-process.js';
import { writeLabConfig } from '../../support/lab-config.js';

interface Lab {
  lab: DrillLab;
  env: NodeJS.ProcessEnv;
  home: string;
}

async function startLab(target = 'web-2'): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'tnir-faults-'));
  const lab = await startDrillLab({ scenario: await loadScenario(), dir, target });
  const home = join(dir, 'home');
  return { lab, home, env: { ...lab.apiEnv, TAILNET_IR_HOME: home, SSH_AUTH_SOCK: '' } };
}

interface Outcome {
  runId: string;
  status: string;
  step?: string;
  message?: string;
}

async function cli(l: Lab, args: string[]): Promise<{ code: number | null; out: Outcome; stderr: string }> {
  const r = await runCliKillable([...args, '--json'], { env: l.env, timeoutMs: 90_000 });
  let out: Outcome;
  try {
    out = JSON.parse(r.stdout) as Outcome;
  } catch {
    throw new Error(`no JSON outcome (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, out, stderr: r.stderr };
}

/** A loopback port nothing listens on (taken from the OS, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const ourPolicyWrites = (lab: DrillLab) =>
  lab.sim.tailnet.auditLog().filter((e) => e.target.property === 'ACL' && e.action === 'UPDATE' && e.actor.loginName !== 'someone-else@console');

describe.concurrent('respond under injected faults', () => {
  it('a concurrent policy edit (412) during quarantine: the step re-plans on the new policy and the run completes, quarantine applied once', async ({ expect }) => {
    const l = await startLab();
    try {
      const config = writeLabConfig(l.lab);
      l.lab.sim.faults.add({ kind: 'concurrent-policy-edit', times: 1 });
      const r = await cli(l, ['respond', 'web-2', '--config', config, '--approve', 'all']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.out.status).toBe('completed');
      const journal = readJournal(l.home, r.out.runId);
      expect(journal.filter((e) => e.type === 'step-failed' && e.step === 'quarantine' && (e.data as { stale?: boolean }).stale)).toHaveLength(1);
      expect(journal.filter((e) => e.type === 'plan' && e.step === 'quarantine').length).toBeGreaterThanOrEqual(2);
      const audit = l.lab.sim.tailnet.auditLog();
      expect(audit.filter((e) => e.actor.loginName === 'someone-else@console')).toHaveLength(1);
      // Staged quarantine (two writes) and release (one): nothing doubled by the retry.
      expect(ourPolicyWrites(l.lab)).toHaveLength(3);
      expect(audit.filter((e) => e.target.property === 'ACL_TAGS')).toHaveLength(1);
      // The other admin's edit survives quarantine and release.
      expect(l.lab.sim.tailnet.policy().text).toContain('// edited in the admin console at');
      expect(l.lab.sim.tailnet.policy().text).not.toContain('tailnet-ir quarantine');
    } finally {
      await l.lab.close();
    }
  });

  it('a burst of 429 on reads is retried and the run completes', async ({ expect }) => {
    const l = await startLab();
    try {
      const config = writeLabConfig(l.lab);
      l.lab.sim.faults.add({ kind: 'status', route: 'GET /api/v2/**', status: 429, times: 3 });
      const r = await cli(l, ['respond', 'web-2', '--config', config, '--approve', 'all']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.out.status).toBe('completed');
      expect(l.lab.sim.faults.list()).toEqual([]); // every injected 429 was answered, and survived
      const audit = l.lab.sim.tailnet.auditLog();
      expect(ourPolicyWrites(l.lab)).toHaveLength(3);
      expect(audit.filter((e) => e.action === 'REVOKE')).toHaveLength(1);
      expect(audit.filter((e) => e.action === 'DELETE' && e.target.type === 'NODE')).toHaveLength(1);
    } finally {
      await l.lab.close();
    }
  });

  it('403 on suspending the owner of a user-owned node: pauses with exit 5 and a clear message, loses nothing, completes on resume once allowed', async ({ expect }) => {
    const l = await startLab('bob-laptop');
    try {
      const config = writeLabConfig(l.lab, 'bob-laptop');
      l.lab.sim.faults.add({ kind: 'status', route: 'POST /api/v2/users/*/suspend', status: 403, times: 20 });
      // As a responder sees it (human output): what happened, that state is kept, how to go on.
      const human = await runCliKillable(['respond', 'bob-laptop', '--config', config, '--approve', 'all'], { env: l.env, timeoutMs: 90_000 });
      expect(human.code, human.stderr).toBe(5);
      const runId = /^run (\S+): paused at suspend-user$/m.exec(human.stdout)?.[1];
      expect(runId, human.stdout).toBeDefined();
      expect(human.stdout).toMatch(/HTTP 403/);
      expect(human.stdout).toContain('a user token cannot suspend its own user');
      expect(human.stdout).toContain(`state kept; continue with: tailnet-ir resume ${runId}`);
      const paused = { out: { runId: runId! } };
      const bob = () => l.lab.sim.tailnet.listUsers('all').find((u) => u.loginName === 'bob@example.com')!;
      expect(bob().status).not.toBe('suspended');
      // Nothing lost: the quarantine stays in place and the journal keeps every finished step.
      expect(l.lab.sim.tailnet.listDevices(false).find((d) => d.hostname === 'bob-laptop')!.tags?.[0]).toMatch(/^tag:quarantine-/);
      const done = readJournal(l.home, paused.out.runId).filter((e) => e.type === 'done').map((e) => e.step);
      expect(done).toEqual(expect.arrayContaining(['triage', 'quarantine', 'verify-quarantine']));

      l.lab.sim.faults.clear();
      const resumed = await cli(l, ['resume', paused.out.runId, '--config', config, '--approve', 'all']);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.out.status).toBe('completed');
      expect(bob().status).toBe('suspended');
      const audit = l.lab.sim.tailnet.auditLog();
      expect(audit.filter((e) => e.action === 'SUSPEND')).toHaveLength(1);
      expect(audit.filter((e) => e.target.property === 'ACL_TAGS')).toHaveLength(1);
      expect(ourPolicyWrites(l.lab)).toHaveLength(3);
      const verify = await runCliKillable(['journal', 'verify', paused.out.runId], { env: l.env });
      expect(verify.code, verify.stdout).toBe(0);
    } finally {
      await l.lab.close();
    }
  });

  it('SSH host unreachable during collection: pauses before anything destructive, resumes once the host is reachable', async ({ expect }) => {
    const l = await startLab();
    try {
      const unreachable = writeLabConfig(l.lab, 'web-2', { sshPort: await closedPort() });
      const paused = await cli(l, ['respond', 'web-2', '--config', unreachable, '--approve', 'all']);
      expect(paused.code, paused.stderr).toBe(5);
      expect(paused.out).toMatchObject({ status: 'paused', step: 'collect' });
      expect(paused.out.message).toMatch(/127\.0\.0\.1|connect|refused|unreachable/i);
      // The device was not deleted without evidence.
      expect(l.lab.sim.tailnet.auditLog().filter((e) => e.action === 'DELETE')).toHaveLength(0);

      const reachable = writeLabConfig(l.lab, 'web-2');
      const resumed = await cli(l, ['resume', paused.out.runId, '--config', reachable, '--approve', 'all']);
      expect(resumed.code, resumed.out.message).toBe(0);
      expect(resumed.out.status).toBe('completed');
      const audit = l.lab.sim.tailnet.auditLog();
      expect(audit.filter((e) => e.action === 'REVOKE')).toHaveLength(1);
      expect(audit.filter((e) => e.action === 'DELETE' && e.target.type === 'NODE')).toHaveLength(1);
      expect(ourPolicyWrites(l.lab)).toHaveLength(3);
      // The failed attempt's archive is kept as it was; the sealed archive is the new attempt.
      const evidence = readdirSync(join(l.home, 'runs', paused.out.runId, 'evidence'));
      expect(evidence).toEqual(expect.arrayContaining([`evidence-${paused.out.runId}.tar.gz`, `evidence-${paused.out.runId}-attempt-2.tar.gz`, `evidence-${paused.out.runId}-attempt-2.tar.gz.sig`]));
    } finally {
      await l.lab.close();
    }
  });
});
