import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkippingClock } from '../../../src/core/clock.js';
import { GENESIS_HASH, type JournalEntry } from '../../../src/core/journal-entry.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { verifyJournalFile } from '../../../src/engine/journal.js';
import { buildRunReport, reportTime } from '../../../src/report/build-run-report.js';
import { loadRunReportSources, parseJournalLines } from '../../../src/report/load-run-report.js';
import type { RunReport } from '../../../src/report/run-report.js';
import {
  PLANTED_AUTH_KEY,
  writeAbortedRun,
  writeCompletedTaggedRun,
  writeCompletedUserRun,
  writePausedRun,
} from '../../fixtures/report/build-report-runs.js';

const GENERATED = new Date('2026-03-02T08:00:00Z');
let home: string;
let store: RunStore;
const reports: Record<string, RunReport> = {};

async function load(id: string): Promise<RunReport> {
  return buildRunReport(await loadRunReportSources(store, id, GENERATED));
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'tnir-report-'));
  store = new RunStore(home, new SkippingClock('2026-03-02T08:00:00Z'));
  await writeCompletedTaggedRun(home, { runId: 'run-tagged' });
  await writeCompletedUserRun(home, { runId: 'run-user' });
  await writePausedRun(home, { runId: 'run-paused' });
  await writeAbortedRun(home, { runId: 'run-aborted' });
  for (const id of ['run-tagged', 'run-user', 'run-paused', 'run-aborted']) reports[id] = await load(id);
});

describe('buildRunReport: completed tagged-device response', () => {
  it('names the run, playbook, target and operators', () => {
    const r = reports['run-tagged'] as RunReport;
    expect(r.runId).toBe('run-tagged');
    expect(r.playbook.id).toBe('node-compromise');
    expect(r.target).toMatchObject({ input: 'web-1', nodeId: 'nWEB1CNTRL', name: 'web-1.tail1234.ts.net', addresses: ['100.64.0.10', 'fd7a:115c:a1e0::a'], tags: ['tag:web'] });
    expect(r.operators).toEqual(['alice', 'bob']);
    expect(r.status).toMatchObject({ state: 'completed', resumeCommand: null, exitCode: 0 });
    expect(r.generatedAt.utc).toBe('2026-03-02 08:00:00 UTC');
  });

  it('has one timeline event per journal entry, in order, with UTC times', () => {
    const r = reports['run-tagged'] as RunReport;
    const entries = parseJournalLines(readFileSync(store.journalPath('run-tagged'), 'utf8'));
    expect(r.timeline.map((t) => t.seq)).toEqual(entries.map((e) => e.seq));
    expect(r.timeline[0]).toMatchObject({ phase: 'run', step: null, time: { utc: '2026-03-01 10:00:01 UTC' } });
    expect(r.timeline.find((t) => t.step === 'revoke-keys' && t.phase === 'approval')?.summary).toBe('approved by bob: key matches the device tags; incident INC-42');
    expect(r.timeline.find((t) => t.step === 'wait-for-device' && t.phase === 'done')?.summary).toContain('nWEB2CNTRL');
    expect(r.timeline.at(-1)?.summary).toBe('run completed');
  });

  it('lists every mutation with its plan, approver, time, reason and the digest of the applied plan', () => {
    const r = reports['run-tagged'] as RunReport;
    expect(r.actions.map((a) => a.step)).toEqual(['quarantine', 'revoke-keys', 'delete-device', 'recreate', 'release-quarantine']);
    const revoke = r.actions.find((a) => a.step === 'revoke-keys');
    expect(revoke).toMatchObject({ action: 'revoke-auth-keys', destructive: true, outcome: 'applied', mutations: [{ kind: 'revoke-key', target: 'kWEBCNTRL' }] });
    expect(revoke?.approval).toMatchObject({ kind: 'approved', by: 'bob', reason: 'key matches the device tags; incident INC-42' });
    const entries = parseJournalLines(readFileSync(store.journalPath('run-tagged'), 'utf8'));
    const intent = entries.find((e) => e.type === 'intent' && e.step === 'revoke-keys') as JournalEntry;
    expect(revoke?.planDigest).toBe((intent.data as { planDigest: string }).planDigest);
    // policy plans repeat their diff in the summary; the action shows it once, under policy changes
    expect(r.actions[0]?.summary).toEqual(['quarantine web-1.tail1234.ts.net: 0 other devices lose access']);
    expect(r.actions.find((a) => a.step === 'release-quarantine')?.approval).toBeNull();
  });

  it('reports the policy diff and the tests the quarantine added (and the release removed)', () => {
    const r = reports['run-tagged'] as RunReport;
    const [q, rel] = r.policyChanges;
    expect(q).toMatchObject({ kind: 'quarantine', outcome: 'applied', testsKnown: true, testsRemoved: [] });
    expect(q?.diff).toContain('+    {"src": "tag:web", "deny": ["db-1:5432"]},');
    expect(q?.testsAdded).toEqual(['{"deny":["db-1:5432"],"src":"tag:web"}', '{"accept":["tag:quarantine:22"],"src":"group:ir"}']);
    expect(rel).toMatchObject({ kind: 'release', outcome: 'applied', testsAdded: [] });
    expect(rel?.testsRemoved).toHaveLength(2);
  });

  it('shows the key revocation with the ranking evidence', () => {
    const id = (reports['run-tagged'] as RunReport).identity;
    expect(id?.kind).toBe('tagged');
    if (id?.kind !== 'tagged') return;
    expect(id.revokedKeyIds).toEqual(['kWEBCNTRL']);
    expect(id.candidates.map((c) => [c.keyId, c.verdict])).toEqual([
      ['kWEBCNTRL', 'likely'],
      ['kDBCNTRL', 'excluded'],
    ]);
    expect(id.candidates[0]?.evidence[0]).toMatchObject({ criterion: 'tags', result: 'match', weight: 40 });
  });

  it('digests the evidence: archive, sha256, signature namespace and signer, counts and problem artifacts', () => {
    const ev = (reports['run-tagged'] as RunReport).evidence;
    const archive = join(store.runDir('run-tagged'), 'evidence-run-tagged.tar.gz');
    expect(ev).toMatchObject({ archivePath: archive, signaturePath: `${archive}.sig`, verified: true, artifactCount: 3, manifestError: null });
    expect(ev?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ev?.signature).toMatchObject({ namespace: 'tailnet-ir-evidence', keyType: 'ssh-ed25519' });
    expect(ev?.signature?.signerFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(ev?.bytes).toBe(4096 + 2048 + 1048576);
    expect(ev?.manifest?.problemArtifacts.map((a) => [a.path, a.problems])).toEqual([
      ['hosts/web-1/host-triage/sockets.txt', ['failed', 'exit 127']],
      ['hosts/web-1/host-triage/journal.txt', ['truncated']],
    ]);
    expect(ev?.manifest?.skipped).toHaveLength(1);
  });

  it('reports eradication and a verified chain head equal to the journal check', async () => {
    const r = reports['run-tagged'] as RunReport;
    expect(r.eradication.deleted?.deviceId).toBe('nWEB1CNTRL');
    expect(r.eradication.recreated).toMatchObject({ keyId: 'kNEWCNTRL', tags: ['tag:web'], hostname: 'web-1' });
    expect(r.eradication.newDevice).toMatchObject({ nodeId: 'nWEB2CNTRL', tags: ['tag:web'] });
    expect(r.eradication.quarantineReleased).toBe(true);
    const chain = await verifyJournalFile(store.journalPath('run-tagged'));
    expect(r.integrity).toMatchObject({ ok: true, head: chain.head, entries: chain.entries, firstBroken: null });
    expect(r.integrity.head).not.toBe(GENESIS_HASH);
  });
});

describe('buildRunReport: completed user-owned response', () => {
  it('shows the suspension with who approved it and no rebuild', () => {
    const r = reports['run-user'] as RunReport;
    expect(r.identity).toMatchObject({ kind: 'user', userId: 'u-alice', loginName: 'alice@example.com', suspended: true, step: 'suspend-user' });
    expect(r.actions.find((a) => a.step === 'suspend-user')?.approval).toMatchObject({ by: 'carol', reason: 'owner confirmed laptop stolen' });
    expect(r.eradication.recreated).toBeNull();
    expect(r.eradication.newDevice).toBeNull();
    expect(r.evidence?.verified).toBe(true);
    expect(r.todo.some((t) => t.includes('alice@example.com stays suspended'))).toBe(true);
    expect(r.operators).toEqual(['alice', 'carol']);
  });
});

describe('buildRunReport: paused run waiting for an approval', () => {
  it('says what it waits for and the exact resume command', () => {
    const r = reports['run-paused'] as RunReport;
    expect(r.status).toMatchObject({ state: 'paused', step: 'quarantine', waitingFor: 'approval', resumeCommand: 'tailnet-ir resume run-paused --approve quarantine', exitCode: 5 });
    expect(r.status.reason).toContain('needs approval');
    expect(r.actions).toEqual([]);
    expect(r.approvals).toEqual([expect.objectContaining({ kind: 'requested', step: 'quarantine', answered: false })]);
    expect(r.policyChanges[0]).toMatchObject({ outcome: 'not-finished' });
    expect(r.todo[0]).toContain('`tailnet-ir resume run-paused --approve quarantine`');
    expect(r.todo).toContain('The node is not quarantined by this run: its outgoing tailnet access is unchanged.');
  });
});

describe('buildRunReport: aborted run with an invariant override', () => {
  it('keeps the override and the failure, and offers no resume', () => {
    const r = reports['run-aborted'] as RunReport;
    expect(r.status).toMatchObject({ state: 'aborted', step: 'delete-device', resumeCommand: null, exitCode: 3 });
    const del = r.actions.find((a) => a.step === 'delete-device');
    expect(del).toMatchObject({ outcome: 'failed', error: 'ss: command not found', attempts: 2, override: 'SSH to the node is impossible; deleting without evidence per IR lead' });
    expect(r.approvals.filter((a) => a.kind === 'invariant-override')).toEqual([
      expect.objectContaining({ step: 'delete-device', invariant: 'verified-evidence-before-eradication' }),
    ]);
    expect(r.evidence).toBeNull();
    expect(r.eradication.deleted).toBeNull();
    expect(r.todo.some((t) => t.includes('invariant was overridden'))).toBe(true);
    expect(r.todo).toContain('No evidence was collected by this run.');
  });
});

describe('buildRunReport: integrity and purity', () => {
  it('names the first broken entry when the journal was edited', async () => {
    const h = mkdtempSync(join(tmpdir(), 'tnir-report-broken-'));
    await writePausedRun(h, { runId: 'run-broken' });
    const s = new RunStore(h, new SkippingClock());
    const path = s.journalPath('run-broken');
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = (lines[2] as string).replace('"triage"', '"TRIAGE"');
    writeFileSync(path, lines.join('\n'));
    const r = buildRunReport(await loadRunReportSources(s, 'run-broken', GENERATED));
    expect(r.integrity).toMatchObject({ ok: false, entries: 3, firstBroken: { line: 4, seq: 4 } });
    expect(r.todo[0]).toContain('hash chain is broken at line 4');
  });

  it('formats times in UTC whatever offset was journaled', () => {
    expect(reportTime('2026-03-01T12:00:00+02:00').utc).toBe('2026-03-01 10:00:00 UTC');
    expect(reportTime('not a time').utc).toBe('not a time');
  });

  it('recognises steps by action, not id, and masks secrets in every source', () => {
    const entry = (seq: number, type: JournalEntry['type'], step: string | undefined, data: unknown): JournalEntry => ({ seq, time: `2026-03-01T10:00:0${seq}Z`, type, ...(step ? { step } : {}), data, prev: GENESIS_HASH });
    const plan = { action: 'suspend-user', stepId: 'contain', summary: [`suspend with ${PLANTED_AUTH_KEY}`], mutations: [{ kind: 'suspend-user', target: 'u1', detail: 'suspend' }], destructive: true, warnings: [], data: { userId: 'u1', password: 'hunter2-fake' } };
    const entries = [
      entry(1, 'run-started', undefined, { playbookId: 'custom', inputs: { target: 'x', api_token: 'fake-token-value' } }),
      entry(2, 'done', 'snap', { output: { device: { nodeId: 'n1', name: 'x' }, identity: { kind: 'user', userId: 'u1', loginName: 'eve@example.com', status: 'active' } } }),
      entry(3, 'plan', 'contain', { digest: 'd1', plan }),
      entry(4, 'approval', 'contain', { kind: 'approved', by: 'ops', reason: `ok ${PLANTED_AUTH_KEY}`, planDigest: 'd1' }),
      entry(5, 'intent', 'contain', { planDigest: 'd1', mutations: plan.mutations }),
      entry(6, 'done', 'contain', { planDigest: 'd1', output: { userId: 'u1', suspended: true, secret: 'hunter2-fake' } }),
      entry(7, 'run-completed', undefined, { message: null, exitCode: 0 }),
    ];
    // the triage step is found by its action once its plan is journaled
    entries.splice(1, 0, entry(1, 'plan', 'snap', { digest: 'd0', plan: { action: 'tailnet-snapshot', stepId: 'snap', summary: [], mutations: [], destructive: false, warnings: [], data: null } }));
    const r = buildRunReport({ runId: 'r1', entries, chain: { ok: true, entries: 8, head: 'a'.repeat(64) }, reportJson: { inputs: { password: 'hunter2-fake' } }, generatedAt: GENERATED });
    expect(r.identity).toMatchObject({ kind: 'user', suspended: true, step: 'contain', loginName: 'eve@example.com' });
    const json = JSON.stringify(r);
    expect(json).not.toContain(PLANTED_AUTH_KEY);
    expect(json).not.toContain('hunter2-fake');
    expect(json).not.toContain('fake-token-value');
    expect(json).toContain('tskey-[REDACTED]');
  });

  it('a run with no final entry is in progress (or interrupted) and offers resume; written by its own report step it is finishing and does not', () => {
    const entry = (seq: number, type: JournalEntry['type'], step?: string): JournalEntry => ({ seq, time: '2026-03-01T10:00:00Z', type, ...(step ? { step } : {}), data: {}, prev: GENESIS_HASH });
    const entries = [entry(1, 'run-started'), entry(2, 'plan', 'report')];
    const base = { runId: 'r2', entries, chain: { ok: true, entries: 2, head: 'b'.repeat(64) }, generatedAt: GENERATED };
    expect(buildRunReport(base).status).toMatchObject({ state: 'in-progress', step: 'report', resumeCommand: 'tailnet-ir resume r2' });
    const own = buildRunReport({ ...base, writtenByStep: 'report' });
    expect(own.status).toMatchObject({ state: 'finishing', step: 'report', resumeCommand: null });
    expect(own.todo.some((t) => t.includes('tailnet-ir resume'))).toBe(false);
  });

  it('a denied destructive step aborts the run and is listed as not done', () => {
    const entry = (seq: number, type: JournalEntry['type'], step: string | undefined, data: unknown): JournalEntry => ({ seq, time: '2026-03-01T10:00:00Z', type, ...(step ? { step } : {}), data, prev: GENESIS_HASH });
    const plan = { action: 'delete-device', stepId: 'delete-device', summary: ['delete device x'], mutations: [{ kind: 'delete-device', target: 'n1', detail: 'delete x' }], destructive: true, warnings: [], data: { deviceId: 'n1' } };
    const r = buildRunReport({
      runId: 'r3',
      entries: [
        entry(1, 'run-started', undefined, { playbookId: 'node-compromise', inputs: { target: 'x' } }),
        entry(2, 'plan', 'delete-device', { digest: 'd1', plan }),
        entry(3, 'approval', 'delete-device', { kind: 'denied', by: 'lead', reason: 'keep the host for forensics', planDigest: 'd1' }),
        entry(4, 'run-aborted', 'delete-device', { message: 'delete-device was denied by lead: keep the host for forensics', exitCode: 4 }),
      ],
      chain: { ok: true, entries: 4, head: 'c'.repeat(64) },
      generatedAt: GENERATED,
    });
    expect(r.status).toMatchObject({ state: 'aborted', step: 'delete-device', exitCode: 4, resumeCommand: null });
    expect(r.actions).toEqual([]);
    expect(r.approvals).toEqual([expect.objectContaining({ kind: 'denied', by: 'lead' })]);
    expect(r.todo).toContain('Step delete-device was denied by lead (keep the host for forensics): that change was not made.');
    expect(r.todo).toContain('The compromised device has not been deleted from the tailnet.');
  });
});
