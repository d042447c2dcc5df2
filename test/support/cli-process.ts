/**
 * Drive the CLI as a child process that can be killed at a chosen moment, and read a run's
 * journal while the child writes it. Everything here is asynchronous on purpose: tests that use
 * it host the simulated tailnet and SSH host in their own process, so a synchronous child
 * would deadlock waiting for a server that can no longer answer.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './run-cli.js';

const entry = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface KillableResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when `killWhen` fired and the child was SIGKILLed because of it. */
  killed: boolean;
  stdout: string;
  stderr: string;
}

export interface KillableOptions {
  env: NodeJS.ProcessEnv;
  /** Polled every `pollMs`; the first true answer SIGKILLs the child. */
  killWhen?: () => boolean;
  pollMs?: number;
  /** Hard limit: the child is SIGKILLed (and `killed` stays false) after this long. */
  timeoutMs?: number;
}

export function runCliKillable(args: string[], options: KillableOptions): Promise<KillableResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = options.killWhen
      ? setInterval(() => {
          if (!killed && child.exitCode === null && options.killWhen!()) {
            killed = child.kill('SIGKILL');
          }
        }, options.pollMs ?? 5)
      : undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ code, signal, killed, stdout, stderr });
    });
  });
}

export interface JournalLine {
  seq: number;
  type: string;
  step?: string;
  data?: unknown;
}

/** The only run under `home` (undefined until the child has created it). */
export function soleRunId(home: string): string | undefined {
  const runs = join(home, 'runs');
  if (!existsSync(runs)) return undefined;
  const ids = readdirSync(runs);
  if (ids.length > 1) throw new Error(`expected one run under ${runs}, found ${ids.join(', ')}`);
  return ids[0];
}

/** The complete journal lines of a run; a torn last line (being written right now) is left out. */
export function readJournal(home: string, runId: string): JournalLine[] {
  const path = join(home, 'runs', runId, 'journal.jsonl');
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: empty, or a line still being appended
  return lines.filter(Boolean).map((l) => JSON.parse(l) as JournalLine);
}

/** A `killWhen` for the moment the run's journal holds an entry of `type` for `step`. */
export function journalHas(home: string, type: string, step: string): () => boolean {
  return () => {
    const id = soleRunId(home);
    return id !== undefined && readJournal(home, id).some((e) => e.type === type && e.step === step);
  };
}
