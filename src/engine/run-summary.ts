import type { JournalEntry } from '../core/journal-entry.js';

export type StepState = 'planned' | 'awaiting-approval' | 'approved' | 'denied' | 'applying' | 'done' | 'skipped' | 'failed';

export interface StepSummary {
  step: string;
  state: StepState;
  /** Last journal sequence number that touched the step. */
  seq: number;
  time: string;
  detail?: string;
}

/** Derive each step's latest state from the journal (pure; used by `runs show` and resume). */
export function summarizeSteps(entries: readonly JournalEntry[]): StepSummary[] {
  const byStep = new Map<string, StepSummary>();
  for (const e of entries) {
    if (!e.step) continue;
    const state = stateOf(e);
    if (!state) continue;
    const data = (e.data ?? {}) as Record<string, unknown>;
    const detail = typeof data.message === 'string' ? data.message : typeof data.reason === 'string' ? data.reason : undefined;
    byStep.set(e.step, { step: e.step, state, seq: e.seq, time: e.time, ...(detail ? { detail } : {}) });
  }
  return [...byStep.values()].sort((a, b) => a.seq - b.seq);
}

function stateOf(e: JournalEntry): StepState | undefined {
  switch (e.type) {
    case 'plan':
      return 'planned';
    case 'approval-requested':
      return 'awaiting-approval';
    case 'approval':
      return (e.data as { kind?: string } | null)?.kind === 'denied' ? 'denied' : 'approved';
    case 'intent':
      return 'applying';
    case 'done':
      return 'done';
    case 'step-skipped':
      return 'skipped';
    case 'step-failed':
      return 'failed';
    default:
      return undefined;
  }
}
