import type { JournalEntry } from '../core/journal-entry.js';

/** Where a run's journal says its evidence archive (and, once sealed, its signature) are. */
export function evidenceLocation(entries: readonly JournalEntry[]): { archive?: string; signature?: string } {
  let archive: string | undefined;
  let signature: string | undefined;
  for (const e of entries) {
    if (e.type !== 'done') continue;
    const out = (e.data as { output?: { archivePath?: unknown; signaturePath?: unknown } } | null)?.output;
    if (typeof out?.archivePath === 'string') archive = out.archivePath;
    if (typeof out?.signaturePath === 'string') signature = out.signaturePath;
  }
  return { ...(archive ? { archive } : {}), ...(signature ? { signature } : {}) };
}
