import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/run-cli.js';

const entry = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/** Start `tailnet-ir sim --json …`, resolve with its ready line and the child. */
function startSimProcess(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, 'sim', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const ready = new Promise<{ url: string; token: string; tailnet: string }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`sim not ready in 15 s: ${stderr}`)), 15_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(buf.slice(0, nl)) as { url: string; token: string; tailnet: string });
      }
    });
    child.on('exit', (code) => reject(new Error(`sim exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, exited };
}

describe('tailnet-ir sim', () => {
  it('--json prints one ready line, serves the default scenario with its token, and stops on SIGTERM', async () => {
    const { child, ready, exited } = startSimProcess([]);
    const info = await ready;
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.tailnet).toBe('example.com');
    const ok = await fetch(`${info.url}/api/v2/tailnet/-/devices`, { headers: { authorization: `Bearer ${info.token}` } });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { devices: { hostname: string }[] };
    expect(body.devices.map((d) => d.hostname)).toContain('bob-laptop');
    const refused = await fetch(`${info.url}/api/v2/tailnet/-/devices`, { headers: { authorization: 'Bearer nope' } });
    expect(refused.status).toBe(401);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('applies --fail and --forbid fault flags', async () => {
    const { child, ready, exited } = startSimProcess(['--fail', 'GET /api/v2/tailnet/*/users=503x1', '--forbid', 'POST /api/v2/users/*/suspend']);
    const info = await ready;
    const h = { authorization: `Bearer ${info.token}` };
    expect((await fetch(`${info.url}/api/v2/tailnet/-/users`, { headers: h })).status).toBe(503);
    expect((await fetch(`${info.url}/api/v2/tailnet/-/users`, { headers: h })).status).toBe(200);
    expect((await fetch(`${info.url}/api/v2/users/u100002/suspend`, { method: 'POST', headers: h })).status).toBe(403);
    child.kill('SIGTERM');
    await exited;
  });

  it('refuses a non-loopback listen address with exit code 2', async () => {
    const r = await runCli(['sim', '--listen', '0.0.0.0:8411']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('loopback only');
  });

  it('reports a malformed scenario with file, line and field, exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tnir-sim-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'users:\n  - loginName: a@example.com\n    role: wizard\n');
    const r = await runCli(['sim', '--scenario', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file} (line 3, field users[0].role)`);
  });
});
