/** Ctrl-C in the middle of `respond`: exit 130, the run is kept, `resume` finishes it. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillLab } from '../../../src/drill/drill-lab.js';
import { startConfiguredLab } from '../../support/lab-config.js';
import { runCli } from '../../support/run-cli.js';

const entry = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
let lab: DrillLab;
let env: NodeJS.ProcessEnv;
let configFile: string;

beforeAll(async () => {
  ({ lab, configFile, env } = await startConfiguredLab('tnir-interrupt-'));
});
afterAll(async () => lab?.close());

describe('interrupting a response', () => {
  it('SIGINT mid-run exits 130 naming the run; resume completes it with each mutation once', async () => {
    // Slow the API down so the interrupt lands in the middle of the run.
    lab.sim.faults.add({ kind: 'latency', route: '* /**', ms: 150 });
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'respond', 'web-2', '--config', configFile, '--approve', 'all'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress in 30 s: ${stderr}`)), 30_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (stderr.includes('[verify-quarantine]')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const m = /continue with: tailnet-ir resume (\S+)/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    lab.sim.faults.clear();

    const resumed = await runCli(['resume', m![1]!, '--config', configFile, '--approve', 'all', '--json'], { env, timeoutMs: 90_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'completed' });
    const actions = lab.sim.tailnet.auditLog().map((e) => e.action);
    expect(actions.filter((a) => a === 'REVOKE')).toHaveLength(1);
    expect(actions.filter((a) => a === 'DELETE')).toHaveLength(1);
  });
});
