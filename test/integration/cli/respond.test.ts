/**
 * `plan`, `respond` and `resume` as a responder runs them: separate processes, credentials from
 * the environment, configuration from a file, against the simulated tailnet and a simulated host.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillLab } from '../../../src/drill/drill-lab.js';
import { startConfiguredLab } from '../../support/lab-config.js';
import { runCli } from '../../support/run-cli.js';

let lab: DrillLab;
let env: NodeJS.ProcessEnv;
let configFile: string;

beforeAll(async () => {
  ({ lab, configFile, env } = await startConfiguredLab('tnir-respond-'));
});
afterAll(async () => lab?.close());

const audit = () => lab.sim.tailnet.auditLog();

describe('plan, respond, resume', () => {
  it('plan prints every step and changes nothing', async () => {
    const before = audit().length;
    const r = await runCli(['plan', 'web-2', '--config', configFile, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: { stepId: string; status: string }[] };
    expect(out.steps.map((s) => s.stepId)).toContain('quarantine');
    expect(out.steps.find((s) => s.stepId === 'quarantine')!.status).toBe('planned');
    expect(audit().length).toBe(before);
  });

  it('plan names how the rebuilt host gets its key, and --rebuild-method / --rebuild-tags change it', async () => {
    const before = audit().length;
    const ssh = await runCli(['plan', 'web-2', '--config', configFile], { env });
    expect(ssh.code, ssh.stderr).toBe(0);
    expect(ssh.stdout).toMatch(/recreate \(recreate-device\).*\n.*\n\s+hand it over \(ssh\): over SSH to root@127\.0\.0\.1:\d+/);
    const manual = await runCli(['plan', 'web-2', '--config', configFile, '--rebuild-method', 'manual', '--rebuild-tags', 'tag:web,tag:app'], { env });
    expect(manual.code, manual.stderr).toBe(0);
    expect(manual.stdout).toContain('mint a one-off, pre-authorized auth key with tags tag:web, tag:app');
    expect(manual.stdout).toContain('hand it over (manual): show the key once on this terminal');
    // No terminal in this test: the plan says the manual hand-over would pause.
    expect(manual.stdout).toMatch(/! no terminal is attached/);
    const bad = await runCli(['plan', 'web-2', '--config', configFile, '--rebuild-tags', 'web'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a tag: web');
    expect(audit().length).toBe(before);
  });

  it('respond pauses at the first gate nobody approved (exit 5); resume with approval completes, each mutation once', async () => {
    const r = await runCli(['respond', 'web-2', '--config', configFile, '--json'], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(5);
    const paused = JSON.parse(r.stdout) as { runId: string; status: string; step: string; message: string };
    expect(paused).toMatchObject({ status: 'paused', step: 'revoke-keys' });
    expect(paused.message).toContain(`tailnet-ir resume ${paused.runId} --approve revoke-keys`);
    // The quarantine (auto by policy) is in place while the run waits.
    expect(lab.sim.tailnet.listDevices(false).find((d) => d.hostname === 'web-2')!.tags?.[0]).toMatch(/^tag:quarantine-/);

    const resumed = await runCli(['resume', paused.runId, '--config', configFile, '--approve', 'all', '--json'], { env, timeoutMs: 90_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'completed' });
    const actions = audit().map((e) => e.action);
    expect(actions.filter((a) => a === 'REVOKE')).toHaveLength(1);
    expect(actions.filter((a) => a === 'DELETE')).toHaveLength(1);
    expect(audit().filter((e) => e.action === 'CREATE' && e.target.type === 'API_KEY')).toHaveLength(1);

    const journal = await runCli(['journal', 'verify', paused.runId], { env });
    expect(journal.code, journal.stdout + journal.stderr).toBe(0);
  });

  it('a mistyped device is a usage error with the closest names; no run is created', async () => {
    const home = `${env.TAILNET_IR_HOME}-typo`;
    const r = await runCli(['respond', 'web-3', '--config', configFile], { env: { ...env, TAILNET_IR_HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('device not found: "web-3". Did you mean: web-1');
    expect(existsSync(home)).toBe(false);
  });

  it('without credentials: one line naming the variables, exit 2', async () => {
    const r = await runCli(['respond', 'web-2', '--config', configFile], { env: { TAILNET_IR_HOME: env.TAILNET_IR_HOME, TAILSCALE_API_KEY: '', TAILSCALE_OAUTH_CLIENT_ID: '', TAILSCALE_OAUTH_CLIENT_SECRET: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('set TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET');
  });
});
