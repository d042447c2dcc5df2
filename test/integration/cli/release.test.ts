import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillLab } from '../../../src/drill/drill-lab.js';
import { startConfiguredLab } from '../../support/lab-config.js';
import { runCli } from '../../support/run-cli.js';

let lab: DrillLab;
let env: NodeJS.ProcessEnv;
let configFile: string;
beforeAll(async () => {
  ({ lab, configFile, env } = await startConfiguredLab('tnir-release-'));
});
afterAll(async () => lab?.close());

const web2 = () => lab.sim.tailnet.listDevices(false).find((d) => d.hostname === 'web-2')!;

describe('tailnet-ir release', () => {
  it('lifts exactly the quarantine a paused run applied, keeping a later unrelated edit', async () => {
    const original = lab.sim.tailnet.policy().text;
    const r = await runCli(['respond', 'web-2', '--config', configFile, '--json'], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(5);
    const runId = (JSON.parse(r.stdout) as { runId: string }).runId;
    expect(web2().tags?.[0]).toMatch(/^tag:quarantine-/);
    // Someone else edits the policy while the node is quarantined.
    const during = lab.sim.tailnet.policy();
    lab.sim.tailnet.setPolicy(`${during.text}// unrelated edit by alice\n`, during.etag, { id: 'u100001', type: 'USER', loginName: 'alice@example.com' });

    const dry = await runCli(['release', runId, '--config', configFile, '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(web2().tags?.[0]).toMatch(/^tag:quarantine-/);

    // A refused change is journaled as failed (runs show and the report say why), and can be retried.
    lab.sim.faults.add({ kind: 'status', route: 'POST /api/v2/tailnet/*/acl', status: 403, times: 1 });
    const refused = await runCli(['release', runId, '--config', configFile], { env });
    expect(refused.code).not.toBe(0);
    const show = await runCli(['runs', 'show', runId, '--json'], { env });
    expect(show.stdout).toContain('manual-release');
    const lines = readFileSync(join(env.TAILNET_IR_HOME!, 'runs', runId, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: string });
    expect(lines.at(-1)).toMatchObject({ type: 'step-failed', step: 'manual-release' });

    const rel = await runCli(['release', runId, '--config', configFile], { env });
    expect(rel.code, rel.stderr).toBe(0);
    expect(lab.sim.tailnet.policy().text).toBe(`${original}// unrelated edit by alice\n`);
    expect(web2().tags).toEqual(['tag:web']);

    const again = await runCli(['release', runId, '--config', configFile], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to release.');
    const journal = await runCli(['journal', 'verify', runId], { env });
    expect(journal.code, journal.stdout).toBe(0);
  });

  it('an unknown run is a clear error, exit 2', async () => {
    const r = await runCli(['release', '20990101-000000-abcdef', '--config', configFile], { env });
    expect(r.code).toBe(2);
  });
});
