/**
 * `tailnet-ir release RUN`: lift exactly the quarantine edits RUN made, journaled in that run.
 * Works after other people edited the policy (the policy engine removes only our marked
 * regions and reports conflicts instead of guessing). `--dry-run` prints the plan only.
 */
import { createSystemClock } from '../core/clock.js';
import { ConflictError } from '../core/errors.js';
import { planDigest } from '../engine/step-executor.js';
import { terminalSafeLine } from '../core/terminal-text.js';
import { releaseQuarantine } from '../engine/activities/policy.js';
import type { ActivityContext } from '../engine/activity.js';
import type { JsonValue } from '../core/json.js';
import { createPolicyApprover } from '../engine/approvers.js';
import { resolveStateHome } from '../engine/state-dir.js';
import { apiTargetFromEnv } from '../tailnet/credentials.js';
import { TailscaleClient } from '../tailnet/tailscale-client.js';
import { loadConfig } from './config-file.js';
import { buildEngineDeps } from './engine-wiring.js';
import { emit } from './output.js';

const STEP = 'manual-release';

export async function releaseCommand(runId: string, opts: { config?: string; dryRun?: boolean; json?: boolean }): Promise<void> {
  const { config } = await loadConfig(opts.config);
  const clock = createSystemClock();
  const deps = await buildEngineDeps({
    config,
    tailnet: new TailscaleClient(apiTargetFromEnv()),
    clock,
    stateHome: resolveStateHome(),
    operator: process.env.TAILNET_IR_OPERATOR || process.env.USER || 'operator',
    approver: createPolicyApprover(config.approvals, 'config'),
    progress: () => undefined,
  });
  const handle = await deps.store.open(runId);
  try {
    const quarantine = handle.journal
      .all()
      .filter((e) => e.type === 'done')
      .map((e) => (e.data as { output?: { releaseRecord?: JsonValue; nodeId?: string } }).output)
      .find((o) => o?.releaseRecord !== undefined && o.nodeId !== undefined);
    if (!quarantine)
      throw new ConflictError(`run ${runId} has not applied a quarantine: nothing to release`, { hint: `tailnet-ir runs show ${runId} shows how far it got.` });
    const ctx: ActivityContext<{ releaseRecord: unknown; nodeId: string }> = {
      runId,
      stepId: STEP,
      params: { releaseRecord: quarantine.releaseRecord, nodeId: quarantine.nodeId! },
      inputs: {},
      outputs: {},
      ports: { ...deps.ports, artifacts: handle.artifacts() },
      signal: new AbortController().signal,
    };
    const plan = await releaseQuarantine.plan(ctx);
    const data = { runId, dryRun: Boolean(opts.dryRun), summary: plan.summary, mutations: plan.mutations };
    if (opts.dryRun || plan.mutations.length === 0) {
      emit(opts.json, data, () => [...plan.summary.map(terminalSafeLine), '', plan.mutations.length ? 'Dry run: nothing was changed.' : 'Nothing to release.'].join('\n'));
      return;
    }
    const digest = planDigest(plan);
    await handle.journal.append('plan', STEP, { digest, plan });
    await handle.journal.append('intent', STEP, { planDigest: digest, mutations: plan.mutations });
    let output;
    try {
      output = await releaseQuarantine.apply(plan, ctx);
    } catch (err) {
      // As the engine does: a failed change is journaled, so `runs show` and the report say why.
      await handle.journal.append('step-failed', STEP, { planDigest: digest, message: err instanceof Error ? err.message : String(err) });
      throw err;
    }
    await handle.journal.append('done', STEP, { planDigest: digest, output });
    emit(opts.json, { ...data, output }, () => [...plan.summary.map(terminalSafeLine), '', `Released: the quarantine of run ${runId} is lifted (journaled as ${STEP}).`].join('\n'));
  } finally {
    await handle.close();
  }
}
