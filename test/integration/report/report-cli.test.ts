import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/run-cli.js';
import { writeCompletedTaggedRun, writePausedRun, PLANTED_AUTH_KEY } from '../../fixtures/report/build-report-runs.js';

let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'tnir-report-cli-'));
  env = { TAILNET_IR_HOME: home };
  await writeCompletedTaggedRun(home, { runId: 'run-tagged', names: { deviceName: '<b>web-1</b>' }, plantSecret: true });
  await writePausedRun(home, { runId: 'run-paused' });
});

describe('tailnet-ir report', () => {
  it('prints the Markdown report to stdout by default', async () => {
    const r = await runCli(['report', 'run-tagged'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('# Incident response report: run `run-tagged`')).toBe(true);
    expect(r.stdout).toContain('> **Status: COMPLETED**');
    expect(r.stdout).toContain('| Target | \\<b\\>web-1\\</b\\> (`nWEB1CNTRL`) |');
    expect(r.stdout).not.toContain(PLANTED_AUTH_KEY);
    expect(r.stderr).toBe('');
  });

  it('writes a self-contained HTML page atomically with --out (format from the extension)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tnir-report-out-')), 'incident.html');
    const r = await runCli(['report', 'run-paused', '--out', out], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^wrote the html report of run run-paused to .*incident\.html \(\d+ bytes\)\n$/);
    const page = readFileSync(out, 'utf8');
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain('Continue with: <code>tailnet-ir resume run-paused --approve quarantine</code>');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(out, '..'))).toEqual(['incident.html']); // no temp file left behind
  });

  it('emits the report model as JSON with --format json (and --json)', async () => {
    for (const args of [['--format', 'json'], ['--json']]) {
      const r = await runCli(['report', 'run-paused', ...args], { env });
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as { schema: string; runId: string; status: { state: string; resumeCommand: string } };
      expect(report).toMatchObject({ schema: 'tailnet-ir/run-report@1', runId: 'run-paused', status: { state: 'paused', resumeCommand: 'tailnet-ir resume run-paused --approve quarantine' } });
    }
  });

  it('an unknown run is exit 2 naming the recent runs', async () => {
    const r = await runCli(['report', 'run-nope'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: run not found: "run-nope".');
    expect(r.stderr).toContain(`hint: recent runs under ${home}: run-tagged, run-paused`);
    const empty = await runCli(['report', 'run-nope'], { env: { TAILNET_IR_HOME: mkdtempSync(join(tmpdir(), 'tnir-empty-')) } });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('there are no runs under');
  });

  it('bad options are exit 2 and write nothing', async () => {
    const fmt = await runCli(['report', 'run-paused', '--format', 'pdf'], { env });
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toContain('unknown report format "pdf"');
    const dir = await runCli(['report', 'run-paused', '--out', join(home, 'missing-dir', 'r.md')], { env });
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain('is not a directory');
  });

  it('still writes the report of a tampered journal, says where it breaks, and exits 1', async () => {
    const h = mkdtempSync(join(tmpdir(), 'tnir-report-broken-'));
    await writePausedRun(h, { runId: 'run-broken' });
    const path = join(h, 'runs', 'run-broken', 'journal.jsonl');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"kind":"tagged"', '"kind":"user"'));
    const r = await runCli(['report', 'run-broken'], { env: { TAILNET_IR_HOME: h } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("**The journal's hash chain is BROKEN** at line 5");
    expect(r.stderr).toContain('warning: the journal of run-broken is broken at line 5');
  });

  it('has help with examples', async () => {
    const r = await runCli(['report', '--help'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--format <format>');
    expect(r.stdout).toContain('tailnet-ir report 20260301-100000-a1b2c3 --out incident.html');
  });
});
