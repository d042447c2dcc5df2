import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/run-cli.js';
import { generateSigningKey } from '../../../src/evidence/signing-keys.js';

// Bad input is refused before any connection is attempted (the hosts below do not exist).
describe('tailnet-ir collect: input errors', () => {
  let dir: string;
  let key: string;
  let kh: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tir-cu-'));
    key = join(dir, 'id');
    writeFileSync(key, generateSigningKey('x').privateKey, { mode: 0o600 });
    kh = join(dir, 'known_hosts');
    writeFileSync(kh, '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string[], RegExp][] = [
    ['no host-key pin', ['--host', 'root@web-1'], /No host key pinned/],
    ['a malformed destination', ['--host', 'web-1', '--known-hosts', 'KH'], /not USER@HOST\[:PORT\]/],
    ['--host-key with several hosts', ['--host', 'root@a', '--host', 'root@b', '--host-key', `SHA256:${'A'.repeat(43)}`], /pins one host/],
    ['a malformed --jump', ['--host', 'root@b', '--jump', 'bastion', '--known-hosts', 'KH', '--identity', 'KEY'], /--jump "bastion" is not USER@HOST\[:PORT\]/],
    ['--jump without known_hosts', ['--host', 'root@b', '--jump', 'root@a', '--host-key', `SHA256:${'A'.repeat(43)}`], /--jump needs --known-hosts/],
    ['a malformed fingerprint', ['--host', 'root@a', '--host-key', 'MD5:aa'], /not a SHA256 fingerprint/],
    ['an unknown collector', ['--host', 'root@a', '--known-hosts', 'KH', '--identity', 'KEY', '--collectors', 'nope'], /Unknown collector\(s\): nope/],
    ['a bad --since', ['--host', 'root@a', '--known-hosts', 'KH', '--identity', 'KEY', '--since', 'yesterday'], /not an ISO 8601 time/],
  ];
  for (const [what, args, message] of cases) {
    it(`rejects ${what} with exit 2 and writes nothing`, async () => {
      const out = join(dir, `${what.replace(/\W+/g, '-')}.tar.gz`);
      const r = await runCli(['collect', ...args.map((a) => (a === 'KH' ? kh : a === 'KEY' ? key : a)), '--out', out], { env: { SSH_AUTH_SOCK: '' } });
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('tailnet-ir collect --dry-run', () => {
  it('prints the exact quoted commands and their conditions without connecting or writing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tir-dry-'));
    const out = join(dir, 'never.tar.gz');
    const r = await runCli(['collect', '--host', 'root@127.0.0.1', '--out', out, '--dry-run', '--var', "stateDir=/srv/ts state/'x", '--json']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout).plan as { collector: string; name: string; argv: string[]; collect: boolean; foreach?: string }[];
    const listing = plan.find((p) => p.name === 'state-dir-listing.txt');
    expect(listing?.argv).toEqual(['ls', '-la', '--time-style=full-iso', "/srv/ts state/'x"]);
    expect(plan.find((p) => p.name === 'tailscaled.state')?.collect).toBe(false);
    expect(plan.find((p) => p.name === '{id}/export.tar')?.foreach).toBe('{id} in builtin export-targets');
    expect(existsSync(out)).toBe(false);
    const human = await runCli(['collect', '--host', 'root@127.0.0.1', '--out', out, '--dry-run', '--collectors', 'tailscale-client', '--var', "stateDir=/srv/ts state/'x"]);
    expect(human.stdout).toContain(`'ls' '-la' '--time-style=full-iso' '/srv/ts state/'\\''x'`);
    expect(human.stdout).toContain('(sensitive: only with --include-sensitive)');
    expect(human.stdout).toContain(`Would collect from root@127.0.0.1:22 into ${out}`);
    const viaJump = await runCli(['collect', '--host', 'root@10.20.0.2', '--jump', 'ops@[fd00::1]:2222', '--out', out, '--dry-run', '--collectors', 'tailscale-client']);
    expect(viaJump.stdout).toContain(`Would collect from root@10.20.0.2:22 via ops@[fd00::1]:2222 into ${out}`);
    rmSync(dir, { recursive: true, force: true });
  });
});
