import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, repoRoot } from '../../support/run-cli.js';

const F = `${repoRoot}test/fixtures/policy`;
const inputs = ['--policy', `${F}/policy.hujson`, '--devices', `${F}/devices.json`, '--users', `${F}/users.json`];
const tmp = mkdtempSync(join(tmpdir(), 'tailnet-ir-quarantine-'));

describe('tailnet-ir policy quarantine / release', () => {
  it('plans a proven quarantine, writes it, and the result re-checks with policy test; release restores the bytes', async () => {
    const out = join(tmp, 'quarantined.hujson');
    const outDevices = join(tmp, 'devices-after.json');
    const q = await runCli(['policy', 'quarantine', ...inputs, '--device', 'web-1', '--run', 'ir-42', '--deny', 'tag:db:5432', '--out', out, '--out-devices', outDevices]);
    expect(q.stderr).toBe('');
    expect(q.code).toBe(0);
    expect(q.stdout).toContain('READY (proven)');
    expect(q.stdout).toContain('other devices changed: 0');
    expect(q.stdout).toContain('+++ policy (after quarantine)');

    const devicesAfter = JSON.parse(readFileSync(outDevices, 'utf8')) as { devices: { hostname: string; tags: string[] }[] };
    expect(devicesAfter.devices.find((d) => d.hostname === 'web-1')?.tags).toEqual(['tag:quarantine-ir-42']);

    const t = await runCli(['policy', 'test', '--policy', out, '--devices', outDevices, '--users', `${F}/users.json`]);
    expect(t.code).toBe(0);
    // With the original inventory (target not yet retagged) the pinning tests must fail:
    const early = await runCli(['policy', 'test', '--policy', out, '--devices', `${F}/devices.json`, '--users', `${F}/users.json`]);
    expect(early.code).toBe(1);

    const released = join(tmp, 'released.hujson');
    const r = await runCli(['policy', 'release', '--policy', out, '--marker', 'tailnet-ir quarantine ir-42', '--out', released]);
    expect(r.code).toBe(0);
    expect(readFileSync(released, 'utf8')).toBe(readFileSync(`${F}/policy.hujson`, 'utf8'));
  });

  it('prints the plan as JSON', async () => {
    const q = await runCli(['policy', 'quarantine', ...inputs, '--device', '100.64.0.3', '--run', 'ir-43', '--json']);
    expect(q.code).toBe(0);
    const plan = JSON.parse(q.stdout) as { status: string; steps: { kind: string }[]; blastRadius: { othersChanged: unknown[] } };
    expect(plan.status).toBe('ready');
    expect(plan.steps.map((s) => s.kind)).toEqual(['set-policy', 'set-device-tags', 'set-policy']);
    expect(plan.blastRadius.othersChanged).toEqual([]);
  });

  it('refuses with exit 4 and writes nothing when no safe edit exists', async () => {
    const out = join(tmp, 'never.hujson');
    const q = await runCli(['policy', 'quarantine', ...inputs, '--device', 'carol-laptop', '--run', 'ir-44', '--out', out]);
    expect(q.code).toBe(4);
    expect(q.stdout).toContain('REFUSED');
    expect(q.stderr).toContain('nothing was written');
    expect(() => readFileSync(out)).toThrow();
  });

  it('exits 2 with the closest names for an unknown device', async () => {
    const q = await runCli(['policy', 'quarantine', ...inputs, '--device', 'web-2', '--run', 'ir-45']);
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/device not found: "web-2"\. Did you mean: web-1/);
  });

  it('reports release conflicts with exit 4', async () => {
    const q = await runCli(['policy', 'quarantine', ...inputs, '--device', 'bob-laptop', '--run', 'ir-46', '--json']);
    const plan = JSON.parse(q.stdout) as { newText: string };
    const edited = join(tmp, 'edited.hujson');
    writeFileSync(edited, plan.newText.replace('"tag:quarantine-ir-46": []', '"tag:quarantine-ir-46": ["group:eng"]'));
    const r = await runCli(['policy', 'release', '--policy', edited, '--run', 'ir-46']);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain('CONFLICT');
  });

  it('keeps SSH for a comma-separated list of responders', async () => {
    const q = await runCli(['policy', 'quarantine', ...inputs, '--device', 'web-1', '--run', 'ir-48', '--responders', 'group:incident-response, alice@example.com', '--json']);
    expect(q.code).toBe(0);
    const plan = JSON.parse(q.stdout) as { responders: string[]; addedTests: { src: string; accept?: string[] }[] };
    expect(plan.responders).toEqual(['group:incident-response', 'alice@example.com']);
    expect(plan.addedTests.filter((t) => t.accept).map((t) => t.src)).toEqual(['group:incident-response', 'alice@example.com']);
  });

  it('releases after the target was deleted, keeping its parked test out until a later release', async () => {
    const out = join(tmp, 'q-bob.hujson');
    const q = await runCli(['policy', 'quarantine', ...inputs, '--device', 'bob-laptop', '--run', 'ir-49', '--out', out, '--no-diff']);
    expect(q.code).toBe(0);
    const all = JSON.parse(readFileSync(`${F}/devices.json`, 'utf8')) as { devices: { hostname: string }[] };
    const gone = join(tmp, 'devices-without-bob.json');
    writeFileSync(gone, JSON.stringify({ devices: all.devices.filter((d) => d.hostname !== 'bob-laptop') }));

    const released = join(tmp, 'released-bob.hujson');
    const r = await runCli(['policy', 'release', '--policy', out, '--run', 'ir-49', '--devices', gone, '--users', `${F}/users.json`, '--out', released]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 parked test(s) left out');
    expect(r.stdout).toContain('{"src": "bob@example.com", "accept": ["tag:web:443"], "deny": ["tag:db:5432"]}');
    // What would be written passes its tests against the devices that exist.
    expect((await runCli(['policy', 'test', '--policy', released, '--devices', gone, '--users', `${F}/users.json`])).code).toBe(0);

    // bob is back: a second release restores his test and the original bytes.
    const again = join(tmp, 'released-bob-2.hujson');
    const r2 = await runCli(['policy', 'release', '--policy', released, '--run', 'ir-49', ...inputs.slice(2), '--out', again, '--json']);
    expect(r2.code).toBe(0);
    expect((JSON.parse(r2.stdout) as { stillParked: unknown[] }).stillParked).toEqual([]);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(`${F}/policy.hujson`, 'utf8'));
  });

  it('release refuses --users without --devices (exit 2)', async () => {
    const r = await runCli(['policy', 'release', '--policy', `${F}/policy.hujson`, '--run', 'ir-50', '--users', `${F}/users.json`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--users needs --devices');
  });

  it('works on the Tailscale default policy with a user as responder', async () => {
    const D = `${F}/tailscale-docs`;
    const q = await runCli(['policy', 'quarantine', '--policy', `${D}/default.hujson`, '--devices', `${D}/devices.json`, '--users', `${D}/users.json`, '--device', 'brad-laptop', '--run', 'ir-47', '--responders', 'dave@example.com', '--no-diff']);
    expect(q.stderr).toBe('');
    expect(q.code).toBe(0);
    expect(q.stdout).toContain('READY (proven)');
    expect(q.stdout).not.toContain('+++ policy');
  });
});
