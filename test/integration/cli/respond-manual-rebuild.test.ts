/**
 * The manual rebuild: the one-off key is shown once on the operator's controlling terminal and
 * nowhere else. Under `script` the CLI has a real pseudo-terminal; without one the hand-over
 * refuses, the minted key is revoked and the run pauses. Either way the key reaches no file.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCliKillable } from '../../support/cli-process.js';
import { startConfiguredLab, type ConfiguredLab } from '../../support/lab-config.js';
import { repoRoot } from '../../support/run-cli.js';

const entry = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const keyPattern = /tskey-auth-[A-Za-z0-9-]+/;

/** The CLI inside `script`, which gives it a controlling pseudo-terminal; `onOutput` sees the terminal's text as it comes. */
function runCliOnTerminal(
  args: string[],
  env: NodeJS.ProcessEnv,
  onOutput: (all: string, type: (text: string) => void) => void,
  timeoutMs = 120_000,
): Promise<{ code: number | null; terminal: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, '--import', 'tsx', entry, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let terminal = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      terminal += d;
      onOutput(terminal, (text) => child.stdin.write(text));
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (terminal += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, terminal });
    });
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('manual rebuild: the key is shown once on a terminal', () => {
  let l: ConfiguredLab | undefined;
  afterEach(async () => {
    await l?.lab.close();
    l = undefined;
  });

  it('shows the key on the terminal only; the operator enrols with it and the run completes', async () => {
    l = await startConfiguredLab('tnir-manual-');
    appendFileSync(l.configFile, 'rebuild:\n  method: manual\n');
    const lab = l.lab;
    let shown: string | undefined;
    let pressedEnter = false;
    const r = await runCliOnTerminal(['respond', 'web-2', '--config', l.configFile, '--approve', 'all', '--json'], l.env, (terminal, type) => {
      // The key stays hidden until someone at the terminal presses Enter.
      if (!pressedEnter && terminal.includes('Press Enter to show it')) {
        expect(keyPattern.test(terminal)).toBe(false);
        pressedEnter = true;
        type('\r');
      }
      const m = keyPattern.exec(terminal);
      if (m && !shown) {
        shown = m[0];
        // The operator rebuilds the host and runs `tailscale up` with the key they were shown.
        lab.sim.tailnet.enroll({ authKey: shown, hostname: 'web-2' });
      }
    });
    expect(r.code, r.terminal.slice(-3000)).toBe(0);
    expect(shown).toBeDefined();
    expect(pressedEnter).toBe(true);
    expect(r.terminal).toContain('It is shown once and stored nowhere.');
    expect(r.terminal).toContain('--auth-key=file:/dev/stdin --hostname=web-2 --advertise-tags=tag:web');
    const rebuilt = lab.sim.tailnet.listDevices(false).find((d) => d.hostname === 'web-2');
    expect(rebuilt?.tags).toEqual(['tag:web']);
    // Once: the key appears in exactly one place on the terminal, and in no file of the run.
    expect(r.terminal.split(shown!).length - 1).toBe(1);
    const home = l.env.TAILNET_IR_HOME!;
    const leaks = filesUnder(home).filter((f) => readFileSync(f).includes(shown!));
    expect(leaks).toEqual([]);
  }, 150_000);

  it('without a terminal the hand-over is refused before any key is minted, and the run pauses', async () => {
    l = await startConfiguredLab('tnir-manual-');
    const r = await runCliKillable(['respond', 'web-2', '--config', l.configFile, '--approve', 'all', '--rebuild-method', 'manual', '--json'], { env: l.env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(5);
    const out = JSON.parse(r.stdout) as { status: string; step: string; message: string };
    expect(out).toMatchObject({ status: 'paused', step: 'recreate' });
    expect(out.message).toMatch(/no key was minted: .*terminal/);
    expect(r.stdout + r.stderr).not.toMatch(keyPattern);
    expect(l.lab.sim.tailnet.listKeysAll().filter((k) => k.description?.startsWith('tailnet-ir rebuild'))).toEqual([]);
  }, 120_000);
});
