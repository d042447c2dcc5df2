/** Implementations of `tailnet-ir runs …` and `tailnet-ir journal verify` (loaded lazily). */
import { readFile } from 'node:fs/promises';
import { ExitCode } from '../core/errors.js';
import { terminalSafe, terminalSafeLine } from '../core/terminal-text.js';
import { createSystemClock } from '../core/clock.js';
import { verifyJournalText, type JournalEntry } from '../core/journal-entry.js';
import type { Plan } from '../core/plan.js';
import type { CommandReport } from './command-report.js';
import { RunStore } from './run-store.js';
import { resolveStateHome } from './state-dir.js';
import { verifyJournalFile } from './journal.js';
import { summarizeSteps } from './run-summary.js';
import { evidenceLocation } from './evidence-location.js';

function store(): RunStore {
  return new RunStore(resolveStateHome(), createSystemClock());
}

export async function runsListCommand(): Promise<CommandReport> {
  const s = store();
  const runs = await s.list();
  return {
    data: { home: s.home, runs },
    human: () =>
    runs.length === 0
      ? `no runs under ${s.home}`
      : terminalSafe(
          runs
            .map((r) => `${r.id}  ${r.status.padEnd(9)}  ${r.playbookId}  ${r.currentStep ?? '-'}  ${String(r.inputs.target ?? '')}`)
            .join('\n'),
        ),
  };
}

export async function runsShowCommand(id: string): Promise<CommandReport> {
  const s = store();
  const record = await s.readRecord(id);
  const journalPath = s.journalPath(id);
  // Read once: the same text is summarised and its hash chain checked.
  const text = await readFile(journalPath, 'utf8').catch(() => '');
  const entries: JournalEntry[] = text
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as JournalEntry];
      } catch {
        return [];
      }
    });
  const steps = summarizeSteps(entries);
  const chain = entries.length ? { ...verifyJournalText(text), bytes: Buffer.byteLength(text) } : { ok: true, entries: 0 };
  // What an approver is asked to approve: the latest plan of every step waiting at its gate.
  const pending = steps
    .filter((st) => st.state === 'awaiting-approval')
    .map((st) => {
      const planEntry = entries.findLast((e) => e.step === st.step && e.type === 'plan');
      const request = entries.findLast((e) => e.step === st.step && e.type === 'approval-requested');
      return { step: st.step, prompt: (request?.data as { prompt?: string } | undefined)?.prompt ?? null, plan: (planEntry?.data as { plan?: Plan } | undefined)?.plan ?? null };
    });
  const where = evidenceLocation(entries);
  const evidence = where.archive ? { archivePath: where.archive, signaturePath: where.signature ?? null } : null;
  return { data: { run: record, steps, pending, evidence, journal: { path: journalPath, ...chain } }, human: () => {
    const out = [
      `run ${record.id}: ${record.status}${record.currentStep ? ` at ${record.currentStep}` : ''}`,
      `playbook ${record.playbookId}, started ${record.createdAt}, updated ${record.updatedAt}`,
    ];
    if (record.message) out.push(`note: ${terminalSafe(record.message)}`);
    out.push('', 'steps:');
    for (const st of steps) out.push(`  ${st.step.padEnd(22)} ${st.state.padEnd(18)} ${st.time}${st.detail ? `  ${terminalSafeLine(st.detail)}` : ''}`);
    for (const p of pending) {
      out.push('', `waiting for approval: ${p.step}${p.prompt ? ` - ${terminalSafeLine(p.prompt)}` : ''}`);
      for (const line of p.plan?.summary ?? []) out.push(`  ${terminalSafeLine(line)}`);
      for (const w of p.plan?.warnings ?? []) out.push(`  warning: ${terminalSafeLine(w)}`);
      for (const m of p.plan?.mutations ?? []) out.push(`  will ${terminalSafeLine(m.kind)} ${terminalSafeLine(m.target)}`);
    }
    if (evidence) out.push('', `evidence: ${terminalSafeLine(evidence.archivePath)}`, `  signature: ${evidence.signaturePath ? terminalSafeLine(evidence.signaturePath) : '(not sealed yet)'}`);
    out.push('', `journal: ${chain.entries} entries, chain ${chain.ok ? 'intact' : 'BROKEN (run `tailnet-ir journal verify`)'}`);
    return out.join('\n');
  } };
}

export async function journalVerifyCommand(id: string): Promise<CommandReport> {
  const s = store();
  await s.readRecord(id);
  const path = s.journalPath(id);
  const result = await verifyJournalFile(path);
  return {
    data: { run: id, path, ...result },
    exitCode: result.ok ? undefined : ExitCode.checkFailed,
    human: () =>
    result.ok
      ? `journal of ${id}: ${result.entries} entries, hash chain intact (head ${result.head})`
      : `journal of ${id}: BROKEN at line ${result.firstBroken?.line}${result.firstBroken?.seq ? ` (entry ${result.firstBroken.seq})` : ''}: ${result.firstBroken?.reason}\n` +
        `${result.entries} entries before it verify. The file was not modified.`,
  };
}
