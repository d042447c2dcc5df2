import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { runCli, repoRoot } from '../../support/run-cli.js';

const pkg = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string };

describe('tailnet-ir CLI entry', () => {
  it('prints help listing its commands and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: tailnet-ir');
    expect(r.stdout).toMatch(/^\s+version\b/m);
  });

  it('prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('rejects an unknown command with exit code 2', async () => {
    const r = await runCli(['no-such-command']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'no-such-command'");
  });

  it('emits JSON for `version --json`', async () => {
    const r = await runCli(['version', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: pkg.version });
  });
});
