import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/run-cli.js';
import { requireSystem } from '../../system/support/requirements.js';
import { EvidenceArchiveWriter } from '../../../src/evidence/archive-writer.js';
import { MANIFEST_SCHEMA } from '../../../src/evidence/manifest.js';
import { signFile, EVIDENCE_NAMESPACE } from '../../../src/evidence/sshsig.js';
import { signerFromKeyFile } from '../../../src/evidence/signing-keys.js';

describe.runIf(requireSystem(['ssh-keygen'], 'keygen/verify CLI'))('tailnet-ir keygen and verify', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tir-kv-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keygen writes a 0600 key, refuses to overwrite, and its allowed_signers line works with ssh-keygen', async () => {
    const key = join(dir, 'sign');
    const r = await runCli(['keygen', '--out', key, '--identity', 'ir@example.test', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { fingerprint: string; allowedSignersLine: string };
    expect(out.allowedSignersLine).toMatch(/^ir@example\.test namespaces="tailnet-ir-evidence" ssh-ed25519 AAAA/);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const fp = spawnSync('ssh-keygen', ['-lf', `${key}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1];
    expect(out.fingerprint).toBe(fp);
    const again = await runCli(['keygen', '--out', key]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });

  it('verify accepts a signed archive, and names the file when one byte is changed', async () => {
    const key = join(dir, 'sign');
    const archive = join(dir, 'ev.tar.gz');
    const w = await EvidenceArchiveWriter.create(archive);
    const payload = randomBytes(500_000);
    const { digest } = await w.addStreamed('artifacts/web-1/host-triage/ps.txt', async (sink) => {
      sink.write(payload);
    });
    const manifest = {
      schema: MANIFEST_SCHEMA, runId: 'r1', operator: 'op', tool: { name: 'tailnet-ir', version: '0' }, namespace: EVIDENCE_NAMESPACE,
      startedAt: 'a', completedAt: 'b', target: { addresses: [] }, hosts: [], collectors: [], attachments: [],
      artifacts: [{ ...digest, host: 'web-1', collector: 'host-triage', name: 'ps.txt', argv: ['ps'], startedAt: 'a', endedAt: 'b',
        exitCode: 0, signal: null, stderrExcerpt: '', truncated: false, partial: false, timedOut: false, sensitive: false, redacted: false }],
    };
    await w.addBuffer('manifest.json', JSON.stringify(manifest));
    await w.finalize();
    writeFileSync(`${archive}.sig`, await signFile(archive, await signerFromKeyFile(key, async () => undefined), EVIDENCE_NAMESPACE));

    const ok = await runCli(['verify', archive, '--allowed-signers', `${key}.allowed_signers`, '--identity', 'ir@example.test']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK:');
    expect(ok.stdout).toContain('allowed as ir@example.test');
    const ssh = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', `${key}.allowed_signers`, '-I', 'ir@example.test', '-n', EVIDENCE_NAMESPACE, '-s', `${archive}.sig`], { input: readFileSync(archive) });
    expect(ssh.status).toBe(0);

    const wrongId = await runCli(['verify', archive, '--allowed-signers', `${key}.allowed_signers`, '--identity', 'mallory@example.test', '--json']);
    expect(wrongId.code).toBe(1);
    expect(JSON.parse(wrongId.stdout).problems[0].problem).toContain('not in the allowed signers');

    const bytes = readFileSync(archive);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0x20;
    writeFileSync(archive, bytes);
    const bad = await runCli(['verify', archive, '--json']);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { ok: boolean; problems: { file: string; problem: string }[] };
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.file)).toEqual(expect.arrayContaining([`${archive}.sig`, 'artifacts/web-1/host-triage/ps.txt']));
  });
});
