import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * One line of `journal.jsonl`. Each entry carries `prev`, the SHA-256 (hex) of the previous
 * line's exact bytes, so any edit, deletion or reordering breaks the chain from that point.
 */
export const journalEntryTypes = [
  'run-started',
  'run-resumed',
  'plan',
  'approval-requested',
  'approval',
  'invariant-override',
  'intent',
  'check',
  'done',
  'step-skipped',
  'step-failed',
  'step-retry',
  'run-paused',
  'run-completed',
  'run-aborted',
  'journal-recovered',
] as const;

export type JournalEntryType = (typeof journalEntryTypes)[number];

export const GENESIS_HASH = '0'.repeat(64);

export const journalEntrySchema = z
  .object({
    seq: z.number().int().min(1),
    time: z.string(),
    type: z.enum(journalEntryTypes),
    step: z.string().optional(),
    data: z.unknown(),
    prev: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export type JournalEntry = z.output<typeof journalEntrySchema>;

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface ChainBreak {
  /** 1-based line number in journal.jsonl. */
  line: number;
  seq?: number;
  reason: string;
}

export interface ChainVerification {
  ok: boolean;
  entries: number;
  /** Hash of the last good line: what the next entry's `prev` must be. */
  head: string;
  firstBroken?: ChainBreak;
}

/** Verify a journal's text: every line parses, seq counts up from 1, and `prev` links hold. */
export function verifyJournalText(text: string): ChainVerification {
  const lines = text.split('\n');
  const trailing = lines.pop();
  let head = GENESIS_HASH;
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const broken = (reason: string, seq?: number): ChainVerification => ({ ok: false, entries: count, head, firstBroken: { line: i + 1, seq, reason } });
    let entry: JournalEntry;
    try {
      const parsed = journalEntrySchema.safeParse(JSON.parse(line));
      if (!parsed.success) return broken(`not a journal entry: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      entry = parsed.data;
    } catch {
      return broken('not valid JSON');
    }
    if (entry.seq !== count + 1) return broken(`sequence number ${entry.seq}, expected ${count + 1} (entry missing or reordered)`, entry.seq);
    if (entry.prev !== head) return broken(`previous-entry hash does not match line ${i} (an earlier entry was changed)`, entry.seq);
    head = sha256Hex(line);
    count++;
  }
  if (trailing)
    return { ok: false, entries: count, head, firstBroken: { line: lines.length + 1, reason: 'last line is incomplete (torn write)' } };
  return { ok: true, entries: count, head };
}
