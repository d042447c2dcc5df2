import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, repoRoot } from '../../support/run-cli.js';

const F = `${repoRoot}test/fixtures/policy`;
const inputs = ['--policy', `${F}/policy.hujson`, '--devices', `${F}/devices.json`, '--users', `${F}/users.json`];
const tmp = mkdtempSync(join(tmpdir(), 'tailnet-ir-policy-'));

describe('tailnet-ir policy test', () => {
  it('exits 0 when every test passes', async () => {
    const r = await runCli(['policy', 'test', ...inputs]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('all 3 test(s) passed');
    expect(r.code).toBe(0);
  });

  it('exits 1 and prints each failure with --extra-tests', async () => {
    const extra = join(tmp, 'extra.json');
    writeFileSync(extra, JSON.stringify([{ src: 'bob@example.com', accept: ['tag:db:5432'] }]));
    const r = await runCli(['policy', 'test', ...inputs, '--extra-tests', extra]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('test(s) failed for user: bob@example.com');
    expect(r.stdout).toContain('[acl test error]: address "tag:db:5432": want: Accept, got: Drop');
    const j = await runCli(['policy', 'test', ...inputs, '--extra-tests', extra, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, failures: [{ user: 'bob@example.com' }] });
  });

  it('exits 2 with line and column for malformed HuJSON', async () => {
    const bad = join(tmp, 'bad.hujson');
    writeFileSync(bad, '{\n  "acls": [\n    {"action": "accept",, }\n  ]\n}\n');
    const r = await runCli(['policy', 'test', '--policy', bad, '--devices', `${F}/devices.json`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("line 3, column 25: invalid character ',' looking for beginning of object key string");
  });

  it('exits 2 for an undefined tag with the control server wording', async () => {
    const bad = join(tmp, 'undefined-tag.json');
    writeFileSync(bad, JSON.stringify({ acls: [{ action: 'accept', src: ['tag:ghost'], dst: ['*:*'] }] }));
    const r = await runCli(['policy', 'test', '--policy', bad, '--devices', `${F}/devices.json`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('src=tag not found: "tag:ghost"');
  });
});

describe('tailnet-ir policy reach', () => {
  it('lists what a device reaches with the granting rule and line', async () => {
    const r = await runCli(['policy', 'reach', ...inputs, '--from', 'bob-laptop', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { reachable: { device: string; access: string; rules: { line: number }[] }[] };
    const web = report.reachable.find((e) => e.device === 'web-1');
    expect(web?.access).toContain('tcp:80,443');
    expect(web?.rules[0]?.line).toBe(23);
  });

  it('answers a single destination and exits 1 when denied', async () => {
    const ok = await runCli(['policy', 'reach', ...inputs, '--from', '100.64.0.10', '--to', 'db-1:5432']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ALLOWED');
    const denied = await runCli(['policy', 'reach', ...inputs, '--from', 'bob-laptop', '--to', 'db-1:5432']);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain('DENIED');
  });

  it('names the closest devices for an unknown device', async () => {
    const r = await runCli(['policy', 'reach', ...inputs, '--from', 'bob-lap']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('device not found: "bob-lap". Did you mean: bob-laptop');
  });
});
