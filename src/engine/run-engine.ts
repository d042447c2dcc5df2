/**
 * The engine's public face: start a run, resume one, or plan one without changing anything.
 * The CLI (`respond`, `resume`, `plan`), the pager receiver and drills call these with their
 * own ports; nothing here reads the environment or holds global state.
 */
import { createActor } from 'xstate';
import { ConflictError, ExitCode } from '../core/errors.js';
import { sha256Hex } from '../core/journal-entry.js';
import type { JsonValue } from '../core/json.js';
import { toJsonValue } from '../core/json.js';
import type { Plan } from '../core/plan.js';
import { guardReferences, evaluateGuard, parseGuard, resolveParams } from '../core/expressions.js';
import { toolVersion } from '../core/version.js';
import { skipReason, type Playbook } from '../core/playbook.js';
import type { RunRecord } from '../core/run.js';
import type { ActivityRegistry } from './activity.js';
import { compilePlaybook, PAUSED, type RunContext } from './compile-playbook.js';
import type { LoadedPlaybook } from './playbook-loader.js';
import { parsePlaybook } from './playbook-loader.js';
import type { Approver, ArtifactStore, Ports } from './ports.js';
import { readOnlyTailnet } from './read-only-tailnet.js';
import { resolveInputs } from './run-inputs.js';
import type { RunHandle, RunStore } from './run-store.js';
import { StepExecutor, type RunOptions, planDigest } from './step-executor.js';

export interface EngineDeps {
  store: RunStore;
  registry: ActivityRegistry;
  /** Every port but `artifacts`, which the engine binds to the run directory. */
  ports: Omit<Ports, 'artifacts'>;
  approver: Approver;
}

export interface RunOutcome {
  runId: string;
  status: 'completed' | 'paused' | 'aborted';
  /** Step the run stopped at (paused/aborted). */
  step: string | null;
  /** What happened and what to do next. */
  message: string | null;
  exitCode: number;
  outputs: Record<string, JsonValue>;
}

export interface StartRunRequest {
  playbook: LoadedPlaybook;
  inputs: Record<string, unknown>;
  /** Defaults to a fresh time-based id. */
  runId?: string;
  options?: RunOptions;
}

export async function startRun(deps: EngineDeps, request: StartRunRequest): Promise<RunOutcome> {
  const inputs = resolveInputs(request.playbook.playbook, request.inputs);
  const now = deps.ports.clock.now().toISOString();
  const record: RunRecord = {
    id: request.runId ?? deps.store.newRunId(),
    playbookId: request.playbook.playbook.id,
    playbookSha256: sha256Hex(request.playbook.source),
    inputs,
    createdAt: now,
    updatedAt: now,
    status: 'running',
    currentStep: request.playbook.playbook.steps[0]?.id ?? null,
    message: null,
    toolVersion: toolVersion(),
  };
  const handle = await deps.store.create(record, request.playbook.source);
  try {
    await handle.journal.append('run-started', undefined, { playbookId: record.playbookId, playbookSha256: record.playbookSha256, inputs, toolVersion: record.toolVersion });
    return await drive(deps, handle, request.playbook.playbook, inputs, undefined, request.options ?? {});
  } finally {
    await handle.close();
  }
}

export interface ResumeRunRequest {
  runId: string;
  options?: RunOptions;
}

/** Continue a paused or crashed run from its snapshot and journal; completed mutations are not repeated. */
export async function resumeRun(deps: EngineDeps, request: ResumeRunRequest): Promise<RunOutcome> {
  const handle = await deps.store.open(request.runId);
  try {
    const record = await handle.readRecord();
    if (record.status === 'completed')
      return { runId: record.id, status: 'completed', step: null, message: 'run already completed', exitCode: ExitCode.ok, outputs: {} };
    if (record.status === 'aborted')
      throw new ConflictError(`run ${record.id} was aborted at ${record.currentStep ?? '?'}: ${record.message ?? ''}`, {
        hint: 'an aborted run is final; start a new run (its journal and artifacts are kept).',
      });
    const source = await handle.readPlaybookSource();
    if (sha256Hex(source) !== record.playbookSha256)
      throw new ConflictError(`the playbook copy in run ${record.id} does not match its recorded digest`, { hint: 'the run directory was modified; investigate before resuming.' });
    const playbook = parsePlaybook(source, `${handle.dir}/playbook.yaml`, deps.registry);
    await handle.journal.append('run-resumed', undefined, { from: record.status, step: record.currentStep });
    await handle.updateRecord({ status: 'running', message: null }, deps.ports.clock.now());
    return await drive(deps, handle, playbook, record.inputs as Record<string, JsonValue>, await handle.readSnapshot(), request.options ?? {});
  } finally {
    await handle.close();
  }
}

async function drive(
  deps: EngineDeps,
  handle: RunHandle,
  playbook: Playbook,
  inputs: Record<string, JsonValue>,
  snapshot: unknown,
  options: RunOptions,
): Promise<RunOutcome> {
  const steps = new Map([...playbook.steps, ...playbook.compensations].map((s) => [s.id, s] as const));
  const ports: Ports = { ...deps.ports, artifacts: handle.artifacts() };
  const executor = new StepExecutor({ runId: handle.id, steps, registry: deps.registry, ports, approver: deps.approver, journal: handle.journal, options });
  const machine = compilePlaybook(playbook, executor);

  const fresh = () => createActor(machine, { input: { inputs } });
  let actor: ReturnType<typeof fresh>;
  try {
    actor = snapshot ? createActor(machine, { snapshot: snapshot as never, input: { inputs } }) : fresh();
  } catch {
    actor = fresh(); // unreadable snapshot: start over; the journal skips completed steps
  }
  let persistError: unknown;
  let persisting: Promise<void> = Promise.resolve();
  // After every transition: persist the snapshot (serialized writes, each atomic).
  const persist = () => {
    const snap = actor.getPersistedSnapshot();
    persisting = persisting.then(() => handle.writeSnapshot(snap)).catch((e: unknown) => {
      persistError ??= e;
    });
  };

  // Settle when the machine is final or waits in _paused. Observers also see the restored
  // snapshot on start, so only count snapshots after a paused run has been sent RESUME.
  let armed = false;
  const settled = new Promise<void>((resolve) => {
    const stopped = (s: ReturnType<typeof actor.getSnapshot>) => s.status !== 'active' || s.matches(PAUSED);
    const launch = () => {
      actor.subscribe({
        next: (s) => {
          persist();
          if (armed && stopped(s)) resolve();
        },
        error: () => {
          if (armed) resolve();
        },
      });
      actor.start();
    };
    try {
      launch();
    } catch {
      actor = fresh();
      launch();
    }
    if (snapshot && actor.getSnapshot().status === 'error') {
      // A snapshot this machine cannot restore: start over; every step finds its journaled result.
      actor.stop();
      actor = fresh();
      launch();
    }
    if (actor.getSnapshot().matches(PAUSED)) actor.send({ type: 'RESUME' });
    armed = true;
    if (stopped(actor.getSnapshot())) resolve();
  });
  await settled;
  const final = actor.getSnapshot();
  actor.stop();
  await persisting;
  if (persistError) throw persistError;

  const context = final.context as RunContext;
  const now = deps.ports.clock.now();
  let outcome: RunOutcome;
  if (final.status === 'error') {
    const message = `internal engine error: ${(final.error as Error)?.message ?? String(final.error)}`;
    outcome = { runId: handle.id, status: 'paused', step: null, message, exitCode: ExitCode.remote, outputs: context?.outputs ?? {} };
  } else if (final.status === 'done') {
    const aborted = context.halt?.kind === 'aborted';
    outcome = aborted
      ? { runId: handle.id, status: 'aborted', step: context.halt?.step ?? null, message: context.halt?.reason ?? null, exitCode: context.halt?.exitCode ?? ExitCode.remote, outputs: context.outputs }
      : { runId: handle.id, status: 'completed', step: null, message: null, exitCode: ExitCode.ok, outputs: context.outputs };
  } else {
    const step = context.halt?.step ?? null;
    outcome = { runId: handle.id, status: 'paused', step, message: pauseMessage(handle.id, step, context.halt?.reason ?? 'paused'), exitCode: ExitCode.paused, outputs: context.outputs };
  }
  await handle.journal.append(outcome.status === 'completed' ? 'run-completed' : outcome.status === 'aborted' ? 'run-aborted' : 'run-paused', outcome.step ?? undefined, {
    message: outcome.message,
    exitCode: outcome.exitCode,
  });
  await handle.updateRecord({ status: outcome.status, currentStep: outcome.step, message: outcome.message }, now);
  deps.ports.progress({ runId: handle.id, ...(outcome.step ? { stepId: outcome.step } : {}), phase: outcome.status === 'paused' ? 'pause' : 'done', message: outcome.message ?? `run ${outcome.status}` });
  return outcome;
}

function pauseMessage(runId: string, step: string | null, reason: string): string {
  return `run ${runId} paused at ${step ?? '?'}: ${reason}`;
}

// ---- plan mode ----------------------------------------------------------------------------

export interface PlannedStep {
  stepId: string;
  action: string;
  status: 'planned' | 'skipped' | 'depends' | 'error';
  approval: 'required' | 'auto' | 'not-needed';
  plan?: Plan;
  planDigest?: string;
  reason?: string;
}

export interface PlanRunRequest {
  playbook: LoadedPlaybook;
  inputs: Record<string, unknown>;
  runId?: string;
}

/**
 * Print-only run: plan every step in order against a read-only view of the tailnet. Steps
 * marked safe in plan mode (triage, policy verify) are executed so later steps can be planned
 * from their outputs; a step that needs the result of a mutation is reported as `depends`.
 * Writes nothing to the run store and calls no mutating API.
 */
export async function planRun(deps: Omit<EngineDeps, 'store' | 'approver'>, request: PlanRunRequest): Promise<PlannedStep[]> {
  const { playbook } = request.playbook;
  const inputs = resolveInputs(playbook, request.inputs);
  const memory = new Map<string, string>();
  const artifacts: ArtifactStore = {
    write: async (name, content) => {
      memory.set(name, typeof content === 'string' ? content : Buffer.from(content).toString('utf8'));
      return `(plan mode, not written) ${name}`;
    },
    read: async (name) => memory.get(name),
    pathOf: async () => undefined,
    journalPath: () => '(plan mode: no journal)',
  };
  const ports: Ports = { ...deps.ports, tailnet: readOnlyTailnet(deps.ports.tailnet), artifacts };
  const outputs: Record<string, JsonValue> = {};
  const result: PlannedStep[] = [];
  const plannedActions: string[] = [];
  const controller = new AbortController();
  for (const step of playbook.steps) {
    const activity = deps.registry.get(step.action);
    if (!activity) throw new Error(`internal: unknown action ${step.action}`);
    const base = { stepId: step.id, action: step.action };
    if (step.when) {
      const expr = parseGuard(step.when);
      const missing = guardReferences(expr).filter((r) => r.root === 'steps' && !(r.name in outputs));
      if (missing.length) {
        result.push({ ...base, status: 'depends', approval: 'not-needed', reason: `runs only if ${step.when}; decided after ${[...new Set(missing.map((m) => m.name))].join(', ')}` });
        continue;
      }
      if (!evaluateGuard(expr, { inputs, outputs })) {
        result.push({ ...base, status: 'skipped', approval: 'not-needed', reason: skipReason(step) });
        continue;
      }
    }
    let params: unknown;
    try {
      params = activity.params.parse(resolveParams(step.params, { inputs, outputs }));
    } catch (e) {
      result.push({ ...base, status: 'depends', approval: 'not-needed', reason: `planned once earlier steps have run (${(e as Error).message})` });
      continue;
    }
    const ctx = { runId: request.runId ?? 'plan', stepId: step.id, params, inputs, outputs, ports, signal: controller.signal, plannedActions: [...plannedActions] };
    try {
      const plan = toJsonValue(await activity.plan(ctx)) as unknown as Plan;
      const gate = plan.mutations.length === 0 ? 'not-needed' : activity.destructive || plan.destructive || (typeof step.approval === 'string' ? step.approval : step.approval.mode) === 'required' ? 'required' : 'auto';
      result.push({ ...base, status: 'planned', approval: gate, plan, planDigest: planDigest(plan) });
      if (activity.safeInPlanMode) outputs[step.id] = toJsonValue(await activity.apply(plan, ctx));
      else plannedActions.push(step.action);
    } catch (e) {
      result.push({ ...base, status: 'error', approval: 'not-needed', reason: (e as Error).message });
      if (step.on_failure === 'abort') break;
    }
  }
  return result;
}
