import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyJournalFile } from '../../../src/engine/journal.js';
import { repoRoot } from '../../support/run-cli.js';

const driver = fileURLToPath(new URL('./fixtures/drive-run.ts', import.meta.url));
const runId = 'run-sigkill';

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

/** Run the driver; with crashAt, SIGKILL it as soon as it reports the crash point. */
function drive(mode: 'start' | 'resume', dir: string, crashAt = 0): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', driver, mode, join(dir, 'home'), join(dir, 'tailnet.json'), runId, 'web-1'], {
      cwd: repoRoot,
      env: { ...process.env, CRASH_AT: String(crashAt) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (crashAt && stdout.includes(`CRASH-POINT ${crashAt}\n`)) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`driver failed (${code}): ${stderr}`));
      else resolve({ code, signal, stdout });
    });
  });
}

function mutations(dir: string): string[] {
  return (JSON.parse(readFileSync(join(dir, 'tailnet.json'), 'utf8')) as { mutations: { method: string }[] }).mutations.map((m) => m.method);
}

// A clean run first: its journal tells where the interesting boundaries are.
const cleanDir = mkdtempSync(join(tmpdir(), 'tnir-sigkill-'));
const clean = await drive('start', cleanDir);
const cleanJournal = readFileSync(join(cleanDir, 'home', 'runs', runId, 'journal.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { seq: number; type: string; step?: string });
// Every boundary around a mutation (intent and done of each mutating step) plus the first entry.
const mutatingSteps = new Set(['quarantine', 'revoke-keys', 'delete-device', 'recreate', 'release-quarantine']);
const boundaries = cleanJournal.filter((e) => e.seq === 1 || ((e.type === 'intent' || e.type === 'done') && mutatingSteps.has(e.step ?? ''))).map((e) => [e.seq, `${e.type} ${e.step ?? ''}`.trim()] as const);

describe('SIGKILL at step boundaries, then resume (real processes)', () => {
  it('the clean run completes', () => {
    expect(clean.stdout).toContain('OUTCOME {"status":"completed"');
    expect(mutations(cleanDir)).toEqual(['setPolicy', 'deleteKey', 'deleteDevice', 'createKey', 'enrol', 'setPolicy']);
    expect(boundaries.length).toBeGreaterThanOrEqual(11);
  });

  it.each(boundaries)('killed after journal entry %i (%s): resume completes, every mutation exactly once', async (seq) => {
    const dir = mkdtempSync(join(tmpdir(), 'tnir-sigkill-'));
    const killed = await drive('start', dir, seq);
    expect(killed.signal).toBe('SIGKILL');
    let out = '';
    for (let i = 0; i < 3 && !out.includes('"status":"completed"'); i++) out = (await drive('resume', dir)).stdout;
    expect(out).toContain('OUTCOME {"status":"completed"');
    expect(mutations(dir)).toEqual(mutations(cleanDir));
    expect(await verifyJournalFile(join(dir, 'home', 'runs', runId, 'journal.jsonl'))).toMatchObject({ ok: true });
  });
});
