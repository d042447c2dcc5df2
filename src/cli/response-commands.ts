/**
 * `respond`, `plan` and `resume`: the node-compromise playbook (or another) against the real
 * tailnet named by the environment, with the configuration in tailnet-ir.yaml.
 */
import { createSystemClock } from '../core/clock.js';
import { ExitCode } from '../core/errors.js';
import type { RebuildMethod } from '../core/rebuild-config.js';
import { terminalSafe, terminalSafeLine } from '../core/terminal-text.js';
import { createFlagApprover, createPolicyApprover, firstDecisive } from '../engine/approvers.js';
import { findPlaybook } from '../engine/playbook-catalog.js';
import type { Approver } from '../engine/ports.js';
import { createProgressPrinter } from '../engine/progress-printer.js';
import { planRun, resumeRun, startRun, type PlannedStep, type RunOutcome } from '../engine/run-engine.js';
import { resolveStateHome } from '../engine/state-dir.js';
import { resolveTarget } from '../engine/resolve-target.js';
import { apiTargetFromEnv } from '../tailnet/credentials.js';
import { TailscaleClient } from '../tailnet/tailscale-client.js';
import { loadConfig } from './config-file.js';
import { buildEngineDeps, responseInputs } from './engine-wiring.js';
import { emit } from './output.js';
import { controllingTerminalReveal } from './terminal-reveal.js';

export interface ResponseCliOptions {
  config?: string;
  playbook?: string;
  playbookDir?: string[];
  approve?: string;
  json?: boolean;
  rebuildTags?: string[];
  rebuildMethod?: RebuildMethod;
}

async function setUp(opts: ResponseCliOptions) {
  const { config, file } = await loadConfig(opts.config);
  const clock = createSystemClock();
  const tailnet = new TailscaleClient(apiTargetFromEnv());
  const operator = process.env.TAILNET_IR_OPERATOR || process.env.USER || 'operator';
  // The command line decides first; the configuration's approval policy covers what it leaves.
  const approvers: Approver[] = [];
  if (opts.approve) approvers.push(createFlagApprover(opts.approve, operator));
  approvers.push(createPolicyApprover(config.approvals, file ?? 'defaults (every gate manual)'));
  const progress = opts.json ? () => undefined : createProgressPrinter((line) => process.stderr.write(line), clock);
  const deps = await buildEngineDeps({
    config,
    tailnet,
    clock,
    stateHome: resolveStateHome(),
    operator,
    approver: firstDecisive(...approvers),
    progress,
    reveal: controllingTerminalReveal(),
  });
  return { config, deps };
}

export async function respondCommand(device: string, opts: ResponseCliOptions): Promise<void> {
  const { config, deps } = await setUp(opts);
  const playbook = await findPlaybook(opts.playbook ?? 'node-compromise', deps.registry, opts.playbookDir ?? []);
  // A mistyped device is a usage error (closest names, exit 2), not a run to keep.
  resolveTarget(device, await deps.ports.tailnet.listDevices());
  const runId = deps.store.newRunId();
  const release = onInterrupt(runId);
  try {
    printOutcome(await startRun(deps, { playbook, inputs: responseInputs(config, device, rebuildOverrides(opts)), runId }), opts.json);
  } finally {
    release();
  }
}

export async function resumeCommand(runId: string, opts: ResponseCliOptions & { evidenceOverride?: string }): Promise<void> {
  const { deps } = await setUp(opts);
  const release = onInterrupt(runId);
  try {
    printOutcome(await resumeRun(deps, { runId, options: opts.evidenceOverride ? { evidenceOverride: { reason: opts.evidenceOverride } } : {} }), opts.json);
  } finally {
    release();
  }
}

/**
 * Ctrl-C or SIGTERM mid-run: stop at once and say how to continue. Stopping anywhere is safe:
 * journal appends are fsync'd lines, other writes are atomic, and resume checks every step that
 * had started against the tailnet before doing anything again.
 */
function onInterrupt(runId: string): () => void {
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(`\ninterrupted (${signal}): run ${runId} is kept — its journal, policy snapshots and any evidence collected so far.\ncontinue with: tailnet-ir resume ${runId}\n`);
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

export async function planCommand(device: string, opts: ResponseCliOptions): Promise<void> {
  const { config, deps } = await setUp({ ...opts, approve: 'none' });
  const playbook = await findPlaybook(opts.playbook ?? 'node-compromise', deps.registry, opts.playbookDir ?? []);
  const steps = await planRun({ registry: deps.registry, ports: deps.ports }, { playbook, inputs: responseInputs(config, device, rebuildOverrides(opts)) });
  emit(opts.json, { device, playbook: playbook.playbook.id, steps }, () => renderPlan(steps));
  if (steps.some((s) => s.status === 'error')) process.exitCode = ExitCode.conflict;
}

function rebuildOverrides(opts: ResponseCliOptions): { rebuildTags?: string[]; rebuildMethod?: string } {
  return { ...(opts.rebuildTags ? { rebuildTags: opts.rebuildTags } : {}), ...(opts.rebuildMethod ? { rebuildMethod: opts.rebuildMethod } : {}) };
}

function printOutcome(outcome: RunOutcome, json?: boolean): void {
  emit(json, outcome, () =>
    [
      `run ${outcome.runId}: ${outcome.status}${outcome.step ? ` at ${terminalSafeLine(outcome.step)}` : ''}`,
      ...(outcome.message ? [terminalSafe(outcome.message)] : []),
      outcome.status === 'completed'
        ? `report: tailnet-ir report ${outcome.runId} --format html --out report.html`
        : outcome.status === 'aborted'
          ? `the run is final; its journal and files are kept: tailnet-ir runs show ${outcome.runId}`
          : `state kept; continue with: tailnet-ir resume ${outcome.runId}`,
    ].join('\n'),
  );
  process.exitCode = outcome.exitCode;
}

function renderPlan(steps: PlannedStep[]): string {
  const out: string[] = [];
  for (const s of steps) {
    const gate = s.approval === 'required' ? ' [approval required]' : '';
    out.push(`${s.status === 'planned' ? '●' : s.status === 'error' ? '✗' : '○'} ${terminalSafeLine(s.stepId)} (${s.action})${gate}: ${s.status}${s.reason ? ` — ${terminalSafeLine(s.reason)}` : ''}`);
    for (const line of s.plan?.summary ?? []) out.push(`    ${terminalSafeLine(line)}`);
    for (const m of s.plan?.mutations ?? []) out.push(`    would ${terminalSafeLine(m.kind)} ${terminalSafeLine(m.target)}: ${terminalSafeLine(m.detail)}`);
    for (const w of s.plan?.warnings ?? []) out.push(`    ! ${terminalSafeLine(w)}`);
  }
  out.push('', 'Nothing was changed.');
  return out.join('\n');
}
