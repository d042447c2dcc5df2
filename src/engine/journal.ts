import { open, readFile, stat, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GENESIS_HASH, sha256Hex, verifyJournalText, type JournalEntry, type JournalEntryType } from '../core/journal-entry.js';
import { redactSecrets } from '../core/redact-secrets.js';
import { CheckFailedError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { fsyncDir } from './atomic-file.js';

/** Test hooks for crash simulation: see the resume tests. */
export interface JournalFaults {
  /** Called after each entry is durable. */
  afterAppend?(entry: JournalEntry): void;
  /** When true, the "process" is dead: appends fail before writing anything. */
  halted?(): boolean;
}

/**
 * The run's append-only, hash-chained journal. Every append is redacted, written as one line
 * and fsync'd before the promise resolves, so "journaled" means "survives a crash".
 */
export class Journal {
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private head: string,
    private seq: number,
    private readonly entries: JournalEntry[],
    private readonly clock: Clock,
    private readonly faults: JournalFaults,
  ) {}

  /**
   * Open (or create) a journal. A torn last line (crash mid-write, never acknowledged) is cut
   * off and the cut recorded; any other break refuses to open: evidence of tampering is kept.
   */
  static async open(path: string, clock: Clock, faults: JournalFaults = {}): Promise<Journal> {
    let text = '';
    let created = false;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      created = true;
    }
    let recovered: { bytes: number; sha256: string } | undefined;
    let check = verifyJournalText(text);
    if (!check.ok && check.firstBroken?.reason.startsWith('last line is incomplete')) {
      const keep = text.lastIndexOf('\n') + 1;
      const torn = text.slice(keep);
      recovered = { bytes: Buffer.byteLength(torn), sha256: sha256Hex(torn) };
      await truncate(path, Buffer.byteLength(text.slice(0, keep)));
      text = text.slice(0, keep);
      check = verifyJournalText(text);
    }
    if (!check.ok)
      throw new CheckFailedError(`journal ${path} is broken at line ${check.firstBroken?.line}: ${check.firstBroken?.reason}`, {
        hint: 'the journal was kept as is; run `tailnet-ir journal verify RUN` and investigate before resuming.',
      });
    const entries = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JournalEntry);
    const handle = await open(path, 'a', 0o600);
    if (created) await fsyncDir(dirname(path));
    const journal = new Journal(path, handle, check.ok ? check.head : GENESIS_HASH, entries.length, entries, clock, faults);
    if (recovered) await journal.append('journal-recovered', undefined, { droppedTornLine: recovered });
    return journal;
  }

  /** Append one entry (redacted), durable when the promise resolves. Appends are serialized. */
  append(type: JournalEntryType, step: string | undefined, data: unknown): Promise<JournalEntry> {
    const next = this.chain.then(async () => {
      if (this.closed) throw new Error('journal is closed');
      if (this.faults.halted?.()) throw new Error('simulated crash: journal halted');
      const entry: JournalEntry = {
        seq: this.seq + 1,
        time: this.clock.now().toISOString(),
        type,
        ...(step === undefined ? {} : { step }),
        data: redactSecrets(data ?? null),
        prev: this.head,
      };
      const line = JSON.stringify(entry);
      await this.handle.write(`${line}\n`);
      await this.handle.sync();
      this.head = sha256Hex(line);
      this.seq = entry.seq;
      this.entries.push(entry);
      this.faults.afterAppend?.(entry);
      return entry;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Entries so far (in memory; the file is the source of truth on open). */
  all(): readonly JournalEntry[] {
    return this.entries;
  }

  forStep(step: string): JournalEntry[] {
    return this.entries.filter((e) => e.step === step);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    await this.handle.close();
  }
}

export async function verifyJournalFile(path: string): Promise<ReturnType<typeof verifyJournalText> & { bytes: number }> {
  const text = await readFile(path, 'utf8');
  const { size } = await stat(path);
  return { ...verifyJournalText(text), bytes: size };
}
