import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { SkippingClock } from '../../../src/core/clock.js';
import { ActivityRegistry, defineActivity } from '../../../src/engine/activity.js';
import { createDefaultRegistry } from '../../../src/engine/activities/index.js';
import { parsePlaybook } from '../../../src/engine/playbook-loader.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { resumeRun, startRun, type EngineDeps } from '../../../src/engine/run-engine.js';
import { createFlagApprover } from '../../../src/engine/approvers.js';
import type { Approver, ApprovalRequest } from '../../../src/engine/ports.js';
import type { JournalEntry } from '../../../src/core/journal-entry.js';
import { FakeApiError, FakeTailnet, seedTailnet } from './fakes/fake-tailnet.js';
import { fakeWorld } from './fakes/fake-ports.js';

/** A scriptable mutating activity: fails `failTimes` times, then records its name. */
function testActivities(log: string[], failures: Map<string, number>, checks: string[]) {
  const op = defineActivity({
    name: 'test-op',
    summary: 'test operation',
    mutates: true,
    destructive: false,
    params: z.object({ name: z.string(), hang: z.boolean().default(false) }).strict(),
    async plan(ctx) {
      return { action: 'test-op', stepId: ctx.stepId, summary: [`do ${ctx.params.name}`], mutations: [{ kind: 'op', target: ctx.params.name, detail: '' }], destructive: false, warnings: [], data: { name: ctx.params.name, hang: ctx.params.hang } };
    },
    async apply(plan, ctx) {
      if (plan.data.hang) await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      const left = failures.get(plan.data.name) ?? 0;
      if (left > 0) {
        failures.set(plan.data.name, left - 1);
        throw new Error(`${plan.data.name} failed`);
      }
      log.push(plan.data.name);
      return { did: plan.data.name };
    },
    async check(plan) {
      checks.push(plan.data.name);
      return log.includes(plan.data.name) ? { done: true, output: { did: plan.data.name }, detail: 'done' } : { done: false, detail: 'not yet' };
    },
  });
  return [op];
}

async function setup(yaml: string, approver: Approver = createFlagApprover('all', 'tester')) {
  const clock = new SkippingClock('2026-03-01T10:00:00Z');
  const tailnet = seedTailnet(new FakeTailnet(clock));
  const world = fakeWorld(tailnet, clock);
  const log: string[] = [];
  const failures = new Map<string, number>();
  const checks: string[] = [];
  const registry = new ActivityRegistry([...createDefaultRegistry().list(), ...testActivities(log, failures, checks)]);
  const source = `id: t\nversion: 1\ndescription: test\ninputs:\n  target: { type: string, description: d, required: false, default: web-1 }\n${yaml}`;
  const playbook = { playbook: parsePlaybook(source, 't.yaml', registry), source, file: 't.yaml' };
  const home = mkdtempSync(join(tmpdir(), 'tnir-compile-'));
  const deps: EngineDeps = { store: new RunStore(home, clock), registry, ports: world.ports, approver };
  const journal = (id: string) =>
    readFileSync(join(deps.store.runDir(id), 'journal.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JournalEntry);
  return { clock, tailnet, world, log, failures, checks, deps, playbook, journal };
}

class CountingApprover implements Approver {
  requests: ApprovalRequest[] = [];
  async decide(r: ApprovalRequest) {
    this.requests.push(r);
    return { kind: 'approved' as const, by: 'counter', reason: 'test' };
  }
}

describe('compiled playbooks', () => {
  it('skips a step whose guard is false, journals why, and runs the next', async () => {
    const t = await setup(`steps:\n  - id: a\n    action: test-op\n    params: { name: a }\n    when: "inputs.target == 'other'"\n  - id: b\n    action: test-op\n    params: { name: b }\n`);
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-guard' });
    expect(out.status).toBe('completed');
    expect(t.log).toEqual(['b']);
    expect(t.journal('run-guard').find((e) => e.step === 'a')).toMatchObject({ type: 'step-skipped', data: { reason: "guard is false: inputs.target == 'other'" } });
  });

  it('retries with doubling backoff on the injected clock, checking before each retry', async () => {
    const t = await setup(`steps:\n  - id: a\n    action: test-op\n    params: { name: a }\n    retry: { attempts: 3, backoff: 2s }\n`);
    t.failures.set('a', 2);
    const before = t.clock.now().getTime();
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-retry' });
    expect(out.status).toBe('completed');
    expect(t.clock.now().getTime() - before).toBe(2000 + 4000);
    expect(t.checks).toEqual(['a', 'a']);
    expect(t.journal('run-retry').filter((e) => e.type === 'step-retry').map((e) => (e.data as { afterMs: number }).afterMs)).toEqual([2000, 4000]);
  });

  it('on_failure skip continues; abort stops with the error exit code and cannot be resumed', async () => {
    const t = await setup(`steps:\n  - id: a\n    action: test-op\n    params: { name: a }\n    on_failure: skip\n  - id: b\n    action: test-op\n    params: { name: b }\n    on_failure: abort\n  - id: c\n    action: test-op\n    params: { name: c }\n`);
    t.failures.set('a', 1);
    t.failures.set('b', 1);
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-abort' });
    expect(out).toMatchObject({ status: 'aborted', step: 'b', exitCode: 3 });
    expect(out.message).toContain('b failed');
    expect(t.log).toEqual([]);
    await expect(resumeRun(t.deps, { runId: 'run-abort' })).rejects.toThrow(/was aborted at b/);
  });

  it('on_failure compensate runs the compensation step, then aborts', async () => {
    const t = await setup(
      `steps:\n  - id: a\n    action: test-op\n    params: { name: a }\n  - id: b\n    action: test-op\n    params: { name: b }\n    on_failure: compensate\n    compensation: undo-a\n  - id: c\n    action: test-op\n    params: { name: c }\ncompensations:\n  - id: undo-a\n    action: test-op\n    params: { name: undo-a }\n`,
    );
    t.failures.set('b', 1);
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-comp' });
    expect(out).toMatchObject({ status: 'aborted', step: 'b' });
    expect(t.log).toEqual(['a', 'undo-a']);
  });

  it('a failure with on_failure pause stops with exit 5; resume retries the step', async () => {
    const t = await setup(`steps:\n  - id: a\n    action: test-op\n    params: { name: a }\n`);
    t.failures.set('a', 1);
    const first = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-pause' });
    expect(first).toMatchObject({ status: 'paused', step: 'a', exitCode: 5 });
    const snap = JSON.parse(readFileSync(join(t.deps.store.runDir('run-pause'), 'snapshot.json'), 'utf8')) as { value: string };
    expect(snap.value).toBe('_paused');
    const second = await resumeRun(t.deps, { runId: 'run-pause' });
    expect(second.status).toBe('completed');
    expect(t.log).toEqual(['a']);
    // the resumed step found an intent without done and asked check() first
    expect(t.checks).toEqual(['a']);
  });

  it('a step that exceeds its timeout fails and pauses the run', async () => {
    const t = await setup(`steps:\n  - id: a\n    action: test-op\n    params: { name: a, hang: true }\n    timeout: 5m\n`);
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-timeout', options: { setTimer: (fn) => (queueMicrotask(fn), { cancel: () => undefined }) } });
    expect(out).toMatchObject({ status: 'paused', step: 'a' });
    expect(out.message).toMatch(/timed out after 300000 ms/);
  });

  it('destructive actions are gated even when the playbook says auto; a denial aborts with exit 4', async () => {
    const deny: Approver = { decide: async () => ({ kind: 'denied', by: 'oncall', reason: 'not this user' }) };
    const t = await setup(`steps:\n  - id: s\n    action: suspend-user\n    params: { userId: u-alice }\n    approval: auto\n`, deny);
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-deny' });
    expect(out).toMatchObject({ status: 'aborted', step: 's', exitCode: 4 });
    expect(out.message).toContain('denied by oncall: not this user');
    expect(t.tailnet.count('suspendUser')).toBe(0);
    expect(t.journal('run-deny').find((e) => e.type === 'approval')).toMatchObject({ data: { kind: 'denied', by: 'oncall' } });
  });

  it('412 on the policy write: re-plans; the same edit is not approved twice', async () => {
    const approver = new CountingApprover();
    const t = await setup(
      `steps:\n  - id: triage\n    action: tailnet-snapshot\n    params: { target: web-1 }\n  - id: q\n    action: policy-quarantine\n    params: { deviceId: nWEB1CNTRL, responders: [group:ir] }\n    approval: required\n`,
      approver,
    );
    t.tailnet.failNext('setPolicy', new FakeApiError('precondition failed, invalid old hash', 412));
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-412' });
    expect(out.status).toBe('completed');
    expect(t.tailnet.count('setPolicy')).toBe(1);
    expect(approver.requests).toHaveLength(1);
    expect(t.journal('run-412').filter((e) => e.step === 'q' && e.type === 'plan')).toHaveLength(2);
  });

  it('412 because someone else edited the policy: the changed plan is approved again', async () => {
    const approver = new CountingApprover();
    const t = await setup(
      `steps:\n  - id: triage\n    action: tailnet-snapshot\n    params: { target: web-1 }\n  - id: q\n    action: policy-quarantine\n    params: { deviceId: nWEB1CNTRL, responders: [group:ir] }\n    approval: required\n`,
      approver,
    );
    const original = t.tailnet.setPolicy.bind(t.tailnet);
    let raced = false;
    t.tailnet.setPolicy = async (text, options) => {
      if (!raced) {
        raced = true;
        await original(`${t.tailnet.policy.text}\n// someone else`); // a concurrent edit wins the race
      }
      return original(text, options);
    };
    const out = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-412b' });
    expect(out.status).toBe('completed');
    expect(approver.requests).toHaveLength(2);
    expect(t.tailnet.policy.text).toContain('// someone else');
    expect(t.tailnet.policy.text).toContain('// quarantine nWEB1CNTRL');
  });

  it('delete refuses without verified evidence; an explicit override reason unlocks it and is journaled', async () => {
    const t = await setup(`steps:\n  - id: d\n    action: delete-device\n    params: { deviceId: nWEB1CNTRL }\n`);
    const first = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-override' });
    expect(first).toMatchObject({ status: 'paused', step: 'd', exitCode: 5 });
    expect(first.message).toMatch(/sealed evidence archive has not verified/);
    expect(t.tailnet.count('deleteDevice')).toBe(0);
    const second = await resumeRun(t.deps, { runId: 'run-override', options: { evidenceOverride: { reason: 'disk wiped by attacker; IR lead approved' } } });
    expect(second.status).toBe('completed');
    expect(t.tailnet.count('deleteDevice')).toBe(1);
    expect(t.journal('run-override').find((e) => e.type === 'invariant-override')).toMatchObject({ step: 'd', data: { reason: 'disk wiped by attacker; IR lead approved' } });
  });

  it("a journaled override covers the run's later eradication steps", async () => {
    const t = await setup(`steps:\n  - id: r\n    action: recreate-device\n    params: { deviceId: nWEB1CNTRL, tags: ['tag:web'] }\n  - id: d\n    action: delete-device\n    params: { deviceId: nWEB1CNTRL }\n`);
    const first = await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-override2' });
    expect(first).toMatchObject({ status: 'paused', step: 'r' });
    expect(t.tailnet.count('createKey')).toBe(0);
    // The override is given once, on resume; the later delete step inherits it from the journal.
    const second = await resumeRun(t.deps, { runId: 'run-override2', options: { evidenceOverride: { reason: 'host already reimaged' } } });
    expect(second.status).toBe('completed');
    expect(t.tailnet.count('createKey')).toBe(1);
    expect(t.tailnet.count('deleteDevice')).toBe(1);
    expect(t.journal('run-override2').filter((e) => e.type === 'invariant-override').map((e) => [e.step, (e.data as { reason: string }).reason])).toEqual([
      ['r', 'host already reimaged'],
      ['d', 'host already reimaged'],
    ]);
  });

  it('a second process cannot drive the same run', async () => {
    const t = await setup(`steps:\n  - id: a\n    action: test-op\n    params: { name: a }\n`);
    t.failures.set('a', 1);
    await startRun(t.deps, { playbook: t.playbook, inputs: {}, runId: 'run-lock' });
    const handle = await t.deps.store.open('run-lock');
    await expect(resumeRun(t.deps, { runId: 'run-lock' })).rejects.toThrow(/being driven by process/);
    await handle.close();
  });

  it('refuses missing or mistyped inputs before creating anything', async () => {
    const t = await setup(`steps:\n  - id: a\n    action: test-op\n    params: { name: a }\n`);
    await expect(startRun(t.deps, { playbook: t.playbook, inputs: { target: 7 }, runId: 'run-inputs' })).rejects.toThrow(/input target must be a string/);
    await expect(startRun(t.deps, { playbook: t.playbook, inputs: { nope: 'x' }, runId: 'run-inputs' })).rejects.toThrow(/unknown input nope/);
    expect(await t.deps.store.listIds()).toEqual([]);
  });
});
