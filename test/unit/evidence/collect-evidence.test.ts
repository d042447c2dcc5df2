import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectEvidence } from '../../../src/evidence/collect-evidence.js';
import { parseCollector } from '../../../src/evidence/collector-schema.js';
import { verifyArchive } from '../../../src/evidence/verify-archive.js';
import { SshConnectError } from '../../../src/evidence/evidence-errors.js';
import { fakeConnector, type Script } from './support/fake-remote.js';
import { readArchive } from '../../system/support/archive-reader.js';

const target = { label: 'web-1', address: '10.0.0.1', port: 22, user: 'root' };
const run = { runId: 'run-1', operator: 'tester', target: { name: 'web-1' } };
const clock = () => new Date('2026-03-01T12:00:00Z');

const collector = parseCollector(
  `
id: demo
description: demo
variables: { greeting: hello }
artifacts:
  - name: one.txt
    argv: [echo, '{greeting}']
  - name: fails.txt
    argv: ['false']
  - name: optional.txt
    argv: [grep, nothing]
    optional: true
  - name: secret.txt
    argv: [cat, /secret]
    sensitive: true
  - name: 'items/{item}.txt'
    argv: [show, '{item}']
    foreach: { as: item, argv: [list], match: '^[a-z]+$' }
  - name: guarded.txt
    argv: [guarded]
    condition: { commandExists: guard }
`,
  'demo.yaml',
);

const happy: Script = (argv) => {
  const cmd = argv.join(' ');
  if (cmd === 'echo hello') return { stdout: 'hello\n' };
  if (cmd === 'false') return { exitCode: 1, stderr: 'nope' };
  if (cmd === 'grep nothing') return { exitCode: 1 };
  if (cmd === 'list') return { stdout: 'alpha\n../../etc/passwd\nbeta\n$(touch x)\nalpha\n' };
  if (argv[0] === 'show') return { stdout: `item ${argv[1]}` };
  if (argv[0] === 'sh' && argv[4] === 'guard') return { exitCode: 1 };
  if (cmd === 'cat /secret') return { stdout: 'PRIVATE' };
  return undefined;
};

describe('collectEvidence (fake connector)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tir-run-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the full verification pass of the sealed archive when asked', async () => {
    const fake = fakeConnector(happy);
    const result = await collectEvidence({ connector: fake.connector, collectors: [collector], hosts: [target], archivePath: join(dir, 'full.tar.gz'), run, selfCheck: 'full' });
    expect(result.selfCheck).toBe('full');
    expect(result.manifest.artifacts.length).toBe(5);
  });

  it('records every artifact, keeps failures, skips sensitive and unmet conditions, filters foreach items', async () => {
    const fake = fakeConnector(happy);
    const archivePath = join(dir, 'a.tar.gz');
    const { manifest, selfCheck } = await collectEvidence({ connector: fake.connector, collectors: [collector], hosts: [target], archivePath, run, now: clock });
    expect(selfCheck).toBe('quick');
    const names = manifest.artifacts.map((a) => a.name);
    expect(names).toEqual(['one.txt', 'fails.txt', 'optional.txt', 'items/alpha.txt', 'items/beta.txt']);
    expect(manifest.artifacts[1]).toMatchObject({ exitCode: 1, stderrExcerpt: 'nope' });
    expect(manifest.collectors).toEqual([{ host: 'web-1', collector: 'demo', status: 'partial', reason: '1 artifact(s) failed: fails.txt (exit 1)' }]);
    expect(manifest.skipped.map((s) => [s.name, s.reason.split(':')[0]])).toEqual([
      ['secret.txt', 'sensitive'],
      ['guarded.txt', 'condition not met'],
    ]);
    expect(fake.calls.some((c) => c.argv.join(' ') === 'cat /secret')).toBe(false);
    expect(manifest.artifacts[0]).toMatchObject({ startedAt: '2026-03-01T12:00:00.000Z', argv: ['echo', 'hello'] });
    expect(manifest.hosts[0]).toMatchObject({ hostKeyFingerprint: 'SHA256:fake', connected: true, reconnects: 0 });
    const entries = await readArchive(archivePath);
    expect(entries.get('artifacts/web-1/demo/one.txt')?.toString()).toBe('hello\n');
    expect(entries.get('artifacts/web-1/demo/items/beta.txt')?.toString()).toBe('item beta');
    expect((await verifyArchive(archivePath, { requireSignature: false })).ok).toBe(true);
  });

  it('collects sensitive artifacts only when asked', async () => {
    const fake = fakeConnector(happy);
    const { manifest } = await collectEvidence({ connector: fake.connector, collectors: [collector], hosts: [target], archivePath: join(dir, 's.tar.gz'), run, includeSensitive: true });
    expect(manifest.artifacts.find((a) => a.name === 'secret.txt')).toMatchObject({ sensitive: true, bytes: 7 });
  });

  it('marks the artifact partial on a dropped connection, reconnects once and continues', async () => {
    let dropped = false;
    const fake = fakeConnector((argv, conn) => {
      if (argv[0] === 'show' && argv[1] === 'alpha' && !dropped) {
        dropped = true;
        return { stdout: 'half', drop: true };
      }
      return happy(argv, conn);
    });
    const archivePath = join(dir, 'd.tar.gz');
    const { manifest } = await collectEvidence({ connector: fake.connector, collectors: [collector], hosts: [target], archivePath, run });
    expect(fake.connections()).toBe(2);
    expect(manifest.artifacts.find((a) => a.name === 'items/alpha.txt')).toMatchObject({ partial: true, bytes: 4, exitCode: null });
    expect(manifest.artifacts.find((a) => a.name === 'items/beta.txt')).toMatchObject({ partial: false, exitCode: 0 });
    expect(manifest.hosts[0]?.reconnects).toBe(1);
    expect((await verifyArchive(archivePath, { requireSignature: false })).ok).toBe(true);
  });

  it('stops collecting from a host after the one reconnect is used, and records why', async () => {
    const fake = fakeConnector((argv, conn) => (argv[0] === 'show' ? { stdout: 'x', drop: true } : happy(argv, conn)), {
      failConnect: (n) => (n > 1 ? new SshConnectError('gone') : undefined),
    });
    const { manifest } = await collectEvidence({ connector: fake.connector, collectors: [collector], hosts: [target], archivePath: join(dir, 'e.tar.gz'), run });
    expect(manifest.artifacts.filter((a) => a.partial).map((a) => a.name)).toEqual(['items/alpha.txt']);
    expect(manifest.collectors[0]?.reason).toContain('connection lost');
    expect(manifest.skipped.some((s) => s.name === 'guarded.txt' && s.reason.includes('connection lost'))).toBe(true);
  });

  it('records an unreachable host and still collects from the others', async () => {
    const fake = fakeConnector(happy, { failConnect: (n) => (n === 1 ? new SshConnectError('ENETUNREACH') : undefined) });
    const { manifest } = await collectEvidence({
      connector: fake.connector,
      collectors: [collector],
      hosts: [target, { ...target, label: 'web-2', address: '10.0.0.2' }],
      archivePath: join(dir, 'u.tar.gz'),
      run,
    });
    expect(manifest.hosts.map((h) => [h.label, h.connected, h.errorCode])).toEqual([
      ['web-1', false, 'ssh-connect'],
      ['web-2', true, undefined],
    ]);
    expect(manifest.collectors.map((c) => c.status)).toEqual(['failed', 'partial']);
  });

  it('stops at an abort and still seals what it has', async () => {
    const ac = new AbortController();
    const fake = fakeConnector((argv, conn) => {
      if (argv.join(' ') === 'false') ac.abort();
      return happy(argv, conn);
    });
    const archivePath = join(dir, 'ab.tar.gz');
    const { manifest } = await collectEvidence({ connector: fake.connector, collectors: [collector], hosts: [target], archivePath, run, signal: ac.signal });
    expect(manifest.aborted).toBe(true);
    expect(manifest.artifacts.map((a) => a.name)).toEqual(['one.txt', 'fails.txt']);
    expect((await verifyArchive(archivePath, { requireSignature: false })).ok).toBe(true);
  });

  it('adds engine attachments (journal, policy) to the archive and the manifest', async () => {
    const fake = fakeConnector(happy);
    const archivePath = join(dir, 'att.tar.gz');
    const { manifest } = await collectEvidence({
      connector: fake.connector,
      collectors: [collector],
      hosts: [target],
      archivePath,
      run,
      attachments: async () => [
        { path: 'journal.jsonl', data: '{"step":1}\n' },
        { path: 'policy/before.hujson', data: '{}' },
      ],
    });
    expect(manifest.attachments.map((a) => a.path)).toEqual(['journal.jsonl', 'policy/before.hujson']);
    expect((await verifyArchive(archivePath, { requireSignature: false })).ok).toBe(true);
  });

  it("keeps the collected evidence when the run's own record cannot be read, and says so in the manifest", async () => {
    const fake = fakeConnector(happy);
    const archivePath = join(dir, 'att-missing.tar.gz');
    const { manifest } = await collectEvidence({
      connector: fake.connector,
      collectors: [collector],
      hosts: [target],
      archivePath,
      run,
      attachments: async () => {
        throw new Error("ENOENT: no such file or directory, open 'journal.jsonl'");
      },
    });
    expect(manifest.artifacts.length).toBeGreaterThan(0);
    expect(manifest.attachments).toEqual([]);
    expect(manifest.skipped).toContainEqual({ host: 'local', collector: 'attachments', name: 'run record', reason: "could not be read: ENOENT: no such file or directory, open 'journal.jsonl'" });
    expect((await verifyArchive(archivePath, { requireSignature: false })).ok).toBe(true);
  });

  it('lists foreach items once per host, so all artifacts of a collector see the same set', async () => {
    const two = parseCollector(
      "id: two\ndescription: d\nartifacts:\n  - name: 'a/{i}'\n    argv: [show, '{i}']\n    foreach: { as: i, argv: [list], match: '^[a-z]+$' }\n  - name: 'b/{i}'\n    argv: [show, '{i}']\n    foreach: { as: i, argv: [list], match: '^[a-z]+$' }\n",
      'two.yaml',
    );
    const fake = fakeConnector(happy);
    const { manifest } = await collectEvidence({ connector: fake.connector, collectors: [two], hosts: [target], archivePath: join(dir, 'l.tar.gz'), run });
    expect(fake.calls.filter((c) => c.argv.join(' ') === 'list')).toHaveLength(1);
    expect(manifest.artifacts.map((a) => a.name)).toEqual(['a/alpha', 'a/beta', 'b/alpha', 'b/beta']);
  });

  it('refuses attachments that would shadow the manifest or the artifacts tree, and leaves no archive', async () => {
    const fake = fakeConnector(happy);
    const archivePath = join(dir, 'shadow.tar.gz');
    await expect(
      collectEvidence({ connector: fake.connector, collectors: [collector], hosts: [target], archivePath, run, attachments: async () => [{ path: 'manifest.json', data: '{}' }] }),
    ).rejects.toThrow(/reserved/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(archivePath)).toBe(false);
    expect(existsSync(`${archivePath}.partial`)).toBe(false);
  });

  it('redacts secrets in the stderr excerpt of redacted artifacts too', async () => {
    const c = parseCollector("id: r\ndescription: d\nartifacts:\n  - name: env\n    argv: [cat, .env]\n    redact: secrets\n", 'r.yaml');
    const fake = fakeConnector(() => ({ stdout: 'TS_AUTHKEY=abcFAKE\n', stderr: 'bad line: API_TOKEN=xyzFAKE\n', exitCode: 1 }));
    const { manifest } = await collectEvidence({ connector: fake.connector, collectors: [c], hosts: [target], archivePath: join(dir, 'r.tar.gz'), run });
    expect(manifest.artifacts[0]?.stderrExcerpt).toBe('bad line: API_TOKEN=[REDACTED]\n');
    expect(manifest.artifacts[0]?.redacted).toBe(true);
    const entries = await readArchive(join(dir, 'r.tar.gz'));
    expect(entries.get('artifacts/web-1/r/env')?.toString()).toBe('TS_AUTHKEY=[REDACTED]\n');
  });
});
