import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SkippingClock } from '../../../src/core/clock.js';
import { Journal, verifyJournalFile } from '../../../src/engine/journal.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { resolveStateHome } from '../../../src/engine/state-dir.js';
import { writeFileAtomic } from '../../../src/engine/atomic-file.js';
import type { RunRecord } from '../../../src/core/run.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'tnir-store-'));
const clock = () => new SkippingClock('2026-03-01T10:00:00Z');
const fakeAuthKey = ['tskey', 'auth', 'kEXAMPLE', 'NOTAREALSECRETxx'].join('-');

function record(id: string): RunRecord {
  return { id, playbookId: 'p', playbookSha256: 'x', inputs: {}, createdAt: 't', updatedAt: 't', status: 'running', currentStep: null, message: null, toolVersion: '0' };
}

describe('journal', () => {
  it('chains entries by the SHA-256 of the previous line and verifies', async () => {
    const path = join(tmp(), 'journal.jsonl');
    const j = await Journal.open(path, clock());
    await j.append('run-started', undefined, { a: 1 });
    await j.append('intent', 'quarantine', { plan: 'x' });
    await j.append('done', 'quarantine', { ok: true });
    await j.close();
    const v = await verifyJournalFile(path);
    expect(v).toMatchObject({ ok: true, entries: 3 });
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const second = JSON.parse(lines[1] as string) as { prev: string; seq: number };
    const { createHash } = await import('node:crypto');
    expect(second.prev).toBe(createHash('sha256').update(lines[0] as string).digest('hex'));
    expect(second.seq).toBe(2);
  });

  it('names the first broken entry after an edit', async () => {
    const path = join(tmp(), 'journal.jsonl');
    const j = await Journal.open(path, clock());
    for (let i = 0; i < 5; i++) await j.append('plan', `s${i}`, { i });
    await j.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = (lines[2] as string).replace('"i":2', '"i":9');
    writeFileSync(path, lines.join('\n'));
    const v = await verifyJournalFile(path);
    expect(v.ok).toBe(false);
    // Line 3 itself still parses; the break shows at line 4, whose prev no longer matches.
    expect(v.firstBroken).toMatchObject({ line: 4, seq: 4 });
  });

  it('detects a deleted entry', async () => {
    const path = join(tmp(), 'journal.jsonl');
    const j = await Journal.open(path, clock());
    for (let i = 0; i < 4; i++) await j.append('plan', `s${i}`, {});
    await j.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.splice(1, 1);
    writeFileSync(path, lines.join('\n'));
    expect((await verifyJournalFile(path)).firstBroken).toMatchObject({ line: 2, reason: expect.stringMatching(/sequence number 3, expected 2/) });
  });

  it('cuts a torn last line on open, records the cut, and keeps chaining', async () => {
    const path = join(tmp(), 'journal.jsonl');
    const j = await Journal.open(path, clock());
    await j.append('plan', 'a', {});
    await j.close();
    appendFileSync(path, '{"seq":2,"time":"x","ty');
    expect((await verifyJournalFile(path)).firstBroken?.reason).toMatch(/torn/);
    const j2 = await Journal.open(path, clock());
    expect(j2.all().at(-1)).toMatchObject({ type: 'journal-recovered', seq: 2 });
    await j2.append('plan', 'b', {});
    await j2.close();
    expect(await verifyJournalFile(path)).toMatchObject({ ok: true, entries: 3 });
  });

  it('refuses to open a tampered journal', async () => {
    const path = join(tmp(), 'journal.jsonl');
    const j = await Journal.open(path, clock());
    await j.append('plan', 'a', {});
    await j.append('plan', 'b', {});
    await j.close();
    writeFileSync(path, readFileSync(path, 'utf8').replace('"step":"a"', '"step":"z"'));
    await expect(Journal.open(path, clock())).rejects.toThrow(/broken at line 2/);
  });

  it('never writes secrets: entries are redacted before they reach the file', async () => {
    const path = join(tmp(), 'journal.jsonl');
    const j = await Journal.open(path, clock());
    await j.append('done', 'recreate', { authKey: fakeAuthKey, message: `minted ${fakeAuthKey}`, nested: [{ secret: 's3cr3t' }] });
    await j.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('NOTAREALSECRET');
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain('[REDACTED]');
  });
});

describe('run store', () => {
  it('creates the layout, lists runs and locks a run against a second driver', async () => {
    const home = tmp();
    const store = new RunStore(home, clock());
    const id = store.newRunId();
    expect(id).toMatch(/^20260301-100000-[0-9a-f]{6}$/);
    const run = await store.create(record(id), 'id: p\n');
    await run.writeSnapshot({ value: 'x' });
    await run.artifacts().write('policy/before.hujson', '{}');
    expect(readdirSync(run.dir).sort()).toEqual(['journal.jsonl', 'lock', 'playbook.yaml', 'policy', 'run.json', 'snapshot.json']);
    await expect(store.open(id)).rejects.toThrow(new RegExp(`driven by process ${process.pid}`));
    await run.close();
    expect(existsSync(join(run.dir, 'lock'))).toBe(false);
    const again = await store.open(id);
    expect(await again.readSnapshot()).toEqual({ value: 'x' });
    await again.close();
    expect((await store.list()).map((r) => r.id)).toEqual([id]);
  });

  it('takes over the lock of a dead process', async () => {
    const home = tmp();
    const store = new RunStore(home, clock());
    const run = await store.create(record('run-dead-owner'), 'x');
    await run.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const { hostname } = await import('node:os');
    writeFileSync(join(run.dir, 'lock'), JSON.stringify({ pid: Number(dead), host: hostname(), since: 'then' }));
    const reopened = await store.open('run-dead-owner');
    await reopened.close();
  });

  it('refuses artifact names that leave the run directory', async () => {
    const store = new RunStore(tmp(), clock());
    const run = await store.create(record('run-artifacts'), 'x');
    await expect(run.artifacts().write('../escape.txt', 'x')).rejects.toThrow(/bad artifact name/);
    await expect(run.artifacts().write('/etc/passwd', 'x')).rejects.toThrow(/bad artifact name/);
    await run.close();
  });

  it('names unknown runs and rejects ids that are not run ids', async () => {
    const store = new RunStore(tmp(), clock());
    await expect(store.readRecord('nope-nope')).rejects.toThrow(/run not found/);
    await expect(store.readRecord('../etc')).rejects.toThrow(/not a run id/);
  });
});

describe('atomic writes and state dir', () => {
  it('replaces a file completely and leaves no temp files', async () => {
    const dir = tmp();
    const file = join(dir, 'f.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['f.json']);
  });

  it('resolves TAILNET_IR_HOME, then XDG_STATE_HOME, then ~/.local/state', () => {
    expect(resolveStateHome({ TAILNET_IR_HOME: '/a', XDG_STATE_HOME: '/b', HOME: '/h' })).toBe('/a');
    expect(resolveStateHome({ XDG_STATE_HOME: '/b', HOME: '/h' })).toBe('/b/tailnet-ir');
    expect(resolveStateHome({ HOME: '/h' })).toBe('/h/.local/state/tailnet-ir');
  });
});
