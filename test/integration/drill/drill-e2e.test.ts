/**
 * The main job, end to end: the node-compromise playbook against the simulated tailnet (real
 * HTTP) and a simulated host (real SSH), with the real policy engine and evidence pipeline.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDrill } from '../../../src/drill/run-drill.js';
import { verifyArchive } from '../../../src/evidence/verify-archive.js';
import { repoRoot, runCli } from '../../support/run-cli.js';

describe('drill: tagged web server (the default scenario)', () => {
  it('quarantines, revokes the enrolling key, collects and signs evidence, rebuilds and releases: every scorecard item passes', async () => {
    const events: string[] = [];
    const result = await runDrill({ dir: mkdtempSync(join(tmpdir(), 'tnir-drill-')), progress: (e) => events.push(`${e.stepId ?? ''}:${e.phase}`) });
    const failed = result.scorecard.items.filter((i) => !i.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(result.outcome.status).toBe('completed');
    expect(events).toContain('quarantine:approval');
    expect(events).toContain('delete-device:approval');

    // The archive holds node artifacts and the tailnet-side record, and verifies on its own.
    const report = await verifyArchive(result.archive!, { namespace: 'tailnet-ir-drill' });
    expect(report.problems).toEqual([]);
    expect(report.artifactsChecked).toBeGreaterThan(10);
    // Drill evidence never passes as real evidence.
    const asReal = await verifyArchive(result.archive!);
    expect(asReal.ok).toBe(false);
    // The quarantine's proof is in the run: the policy after quarantine pins the target.
    const after = readFileSync(join(result.dir, 'state', 'runs', result.outcome.runId, 'policy', 'quarantine-after.hujson'), 'utf8');
    expect(after).toContain('tailnet-ir quarantine');
  });
});

describe('drill: user-owned laptop', () => {
  it('suspends the user instead of revoking a key, collects before the tailnet path is cut, and lifts the quarantine', async () => {
    const result = await runDrill({ dir: mkdtempSync(join(tmpdir(), 'tnir-drill-')), target: 'bob-laptop', progress: () => undefined });
    const failed = result.scorecard.items.filter((i) => !i.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(result.scorecard.items.map((i) => i.id)).toContain('identity-contained');
    expect(result.scorecard.items.find((i) => i.id === 'identity-contained')!.title).toBe('bob@example.com suspended');
    // The laptop is reached over the tailnet, which suspending bob cuts (the lab's host then drops
    // connections): evidence came from the collection planned before the suspension.
    expect(Object.keys(result.outcome.outputs)).toContain('collect-early');
    expect(Object.keys(result.outcome.outputs)).not.toContain('collect');
    // No rebuild for a user's device: they re-enrol it themselves after the investigation.
    expect(result.outcome.outputs['recreate']).toBeUndefined();
  });

  it('with rebuild tags the laptop is rebuilt too: a tagged one-off key, the new device carries exactly those tags', async () => {
    const result = await runDrill({ dir: mkdtempSync(join(tmpdir(), 'tnir-drill-')), target: 'bob-laptop', rebuildTags: ['tag:workstation'], progress: () => undefined });
    const failed = result.scorecard.items.filter((i) => !i.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(result.scorecard.items.find((i) => i.id === 'rebuilt')?.detail).toMatch(/^bob-laptop \(.+\) tags \[tag:workstation\]$/);
    expect(result.outcome.outputs['recreate']).toMatchObject({ tags: ['tag:workstation'], enrolMethod: 'ssh' });
    // The user stays suspended: rebuilding the machine does not restore its owner.
    expect(result.scorecard.items.find((i) => i.id === 'identity-contained')?.ok).toBe(true);
  });
});

describe('drill: simulated clock', () => {
  it('skips the waiting of a retry backoff: a failed key mint is retried "20 s later" on the simulated clock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tnir-drill-'));
    const scenario = join(dir, 'scenario.yaml');
    const text = readFileSync(join(repoRoot, 'scenarios', 'default.yaml'), 'utf8');
    writeFileSync(scenario, `${text}\nfaults:\n  - { kind: status, route: "POST /api/v2/tailnet/*/keys", status: 500, times: 1 }\n`);
    const result = await runDrill({ dir, scenario, progress: () => undefined });
    const failed = result.scorecard.items.filter((i) => !i.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(result.skippedMs).toBeGreaterThanOrEqual(20_000);
    const journal = readFileSync(join(dir, 'state', 'runs', result.outcome.runId, 'journal.jsonl'), 'utf8');
    expect(journal).toMatch(/"type":"step-retry","step":"recreate"/);
  });
});

describe('drill: a gate left unapproved', () => {
  it('ends the drill there and says how to get past it, not to resume (the simulated tailnet is gone)', async () => {
    const result = await runDrill({ dir: mkdtempSync(join(tmpdir(), 'tnir-drill-')), approve: 'quarantine', progress: () => undefined });
    expect(result.outcome.status).toBe('paused');
    const ran = result.scorecard.items.find((i) => i.id === 'run-completed')!;
    expect(ran.ok).toBe(false);
    expect(ran.detail).toContain('A drill cannot be resumed');
    expect(ran.detail).toContain('--approve covering revoke-keys');
    expect(ran.detail).not.toContain('tailnet-ir resume');
  });
});

describe('tailnet-ir drill (CLI)', () => {
  it('exits 0 with a full scorecard as JSON', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tnir-drill-home-'));
    const r = await runCli(['drill', '--json'], { env: { TAILNET_IR_HOME: home }, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { status: string; scorecard: { passed: number; total: number }; archive: string; allowedSigners: string };
    expect(out.status).toBe('completed');
    expect(out.scorecard.passed).toBe(out.scorecard.total);
    // The verification command the drill prints works as printed (allowed_signers with a key comment).
    const verify = await runCli(['verify', '--drill', '--allowed-signers', out.allowedSigners, '--identity', 'drill@tailnet-ir', out.archive], { env: { TAILNET_IR_HOME: home } });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('refuses an unknown drill target with exit code 2', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tnir-drill-home-'));
    const r = await runCli(['drill', '--target', 'no-such-host'], { env: { TAILNET_IR_HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no-such-host');
  });
});
