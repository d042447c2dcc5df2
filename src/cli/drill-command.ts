import { createSystemClock } from '../core/clock.js';
import { ExitCode } from '../core/errors.js';
import { terminalSafe, terminalSafeLine } from '../core/terminal-text.js';
import { createProgressPrinter } from '../engine/progress-printer.js';
import { drillMessage, runDrill } from '../drill/run-drill.js';
import { renderScorecard } from '../drill/scorecard.js';
import { drillSigner } from '../drill/drill-lab.js';
import { DRILL_NAMESPACE } from '../evidence/sshsig.js';
import { emit } from './output.js';

export async function runDrillCommand(
  scenario: string | undefined,
  opts: { target?: string; approve?: string; playbook?: string; dir?: string; json?: boolean; rebuildTags?: string[] },
): Promise<void> {
  const progress = opts.json ? () => undefined : createProgressPrinter((line) => process.stderr.write(line), createSystemClock());
  const result = await runDrill({
    ...(scenario ? { scenario } : {}),
    ...(opts.target ? { target: opts.target } : {}),
    ...(opts.approve ? { approve: opts.approve } : {}),
    ...(opts.playbook ? { playbook: opts.playbook } : {}),
    ...(opts.dir ? { dir: opts.dir } : {}),
    ...(opts.rebuildTags ? { rebuildTags: opts.rebuildTags } : {}),
    progress,
  });
  const { outcome, scorecard } = result;
  const message = drillMessage(outcome);
  emit(opts.json, { dir: result.dir, allowedSigners: result.allowedSigners, runId: outcome.runId, status: outcome.status, step: outcome.step, message, archive: result.archive ?? null, skippedMs: result.skippedMs, scorecard }, () =>
    [
      '',
      `run ${outcome.runId}: ${outcome.status}${outcome.step ? ` at ${terminalSafeLine(outcome.step)}` : ''}${message ? ` — ${terminalSafe(message)}` : ''}`,
      renderScorecard(scorecard, terminalSafeLine),
      ...(result.skippedMs > 0 ? [`simulated clock: ${Math.round(result.skippedMs / 1000)} s of waiting skipped (polls, retry backoffs)`] : []),
      `drill files: ${terminalSafeLine(result.dir)}`,
      ...(result.archive
        ? [
            `evidence:    ${terminalSafeLine(result.archive)}`,
            `  verify:    tailnet-ir verify --drill --allowed-signers ${terminalSafeLine(result.allowedSigners)} --identity ${drillSigner} ${terminalSafeLine(result.archive)}`,
            `  or:        ssh-keygen -Y verify -f ${terminalSafeLine(result.allowedSigners)} -I ${drillSigner} -n ${DRILL_NAMESPACE} -s ${terminalSafeLine(result.archive)}.sig < ${terminalSafeLine(result.archive)}`,
          ]
        : []),
    ].join('\n'),
  );
  if (scorecard.passed !== scorecard.total) process.exitCode = outcome.status === 'paused' ? ExitCode.paused : ExitCode.checkFailed;
}
