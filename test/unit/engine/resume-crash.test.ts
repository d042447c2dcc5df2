import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkippingClock } from '../../../src/core/clock.js';
import { createDefaultRegistry } from '../../../src/engine/activities/index.js';
import { findPlaybook } from '../../../src/engine/playbook-catalog.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { resumeRun, startRun, type RunOutcome } from '../../../src/engine/run-engine.js';
import { createFlagApprover } from '../../../src/engine/approvers.js';
import { verifyJournalFile } from '../../../src/engine/journal.js';
import { FakeTailnet, seedTailnet } from './fakes/fake-tailnet.js';
import { fakeWorld } from './fakes/fake-ports.js';

/**
 * Crash tests: the "process" dies at a boundary (after the Nth journal entry is durable, or
 * right after the Nth mutation landed on the tailnet but before the engine saw it succeed).
 * From then on nothing it does has any effect: journal, snapshot and API all refuse. A fresh
 * engine on the same run directory then resumes; every mutation must have happened exactly once.
 */

type Boundary = { kind: 'journal' | 'mutation'; n: number };

const targets = {
  tagged: { target: 'web-1', expected: { setPolicy: 2, deleteKey: 1, deleteDevice: 1, createKey: 1, enrol: 1, suspendUser: 0 } },
  user: { target: 'laptop-1', expected: { setPolicy: 2, deleteKey: 0, deleteDevice: 1, createKey: 0, enrol: 0, suspendUser: 1 } },
} as const;

async function world(crashAt?: Boundary) {
  const clock = new SkippingClock('2026-03-01T10:00:00Z');
  const tailnet = seedTailnet(new FakeTailnet(clock));
  const w = fakeWorld(tailnet, clock);
  const registry = createDefaultRegistry();
  const home = mkdtempSync(join(tmpdir(), 'tnir-crash-'));
  let crashed = false;
  const crash = () => {
    crashed = true;
    tailnet.dead = true;
  };
  let mutations = 0;
  if (crashAt?.kind === 'mutation')
    tailnet.afterMutation = () => {
      if (++mutations === crashAt.n) crash();
    };
  const store = new RunStore(home, clock, {
    halted: () => crashed,
    afterAppend: (e) => {
      if (crashAt?.kind === 'journal' && e.seq === crashAt.n) crash();
    },
  });
  const playbook = await findPlaybook('node-compromise', registry);
  return { clock, tailnet, w, registry, home, store, playbook, isCrashed: () => crashed };
}

async function cleanRun(path: keyof typeof targets) {
  const x = await world();
  const approver = createFlagApprover('all', 'tester');
  const outcome = await startRun({ store: x.store, registry: x.registry, ports: x.w.ports, approver }, { playbook: x.playbook, inputs: { target: targets[path].target, responders: ['group:ir'] }, runId: 'run-crash' });
  const v = await verifyJournalFile(x.store.journalPath('run-crash'));
  return { status: outcome.status, entries: v.entries, mutations: x.tailnet.mutations.length, order: x.tailnet.mutations.map((m) => m.method), counts: counts(x.tailnet) };
}

// The boundaries of a clean run, measured once: the crash tests walk every one of them.
const clean = { tagged: await cleanRun('tagged'), user: await cleanRun('user') };

function counts(t: FakeTailnet) {
  return {
    setPolicy: t.count('setPolicy'),
    deleteKey: t.count('deleteKey'),
    deleteDevice: t.count('deleteDevice'),
    createKey: t.count('createKey'),
    enrol: t.count('enrol'),
    suspendUser: t.count('suspendUser'),
  };
}

async function crashAndResume(path: keyof typeof targets, boundary: Boundary, expected: Record<string, number> = targets[path].expected) {
  const x = await world(boundary);
  const approver = createFlagApprover('all', 'tester');
  const deps = { store: x.store, registry: x.registry, ports: x.w.ports, approver };
  await startRun(deps, { playbook: x.playbook, inputs: { target: targets[path].target, responders: ['group:ir'] }, runId: 'run-crash' }).catch(() => undefined);
  expect(x.isCrashed()).toBe(true);

  // A new process: same run directory, same tailnet, no faults.
  x.tailnet.dead = false;
  x.tailnet.afterMutation = undefined;
  const fresh = { ...deps, store: new RunStore(x.home, x.clock) };
  let outcome: RunOutcome | undefined;
  for (let i = 0; i < 4 && outcome?.status !== 'completed'; i++) outcome = await resumeRun(fresh, { runId: 'run-crash' });
  expect(outcome?.status).toBe('completed');
  expect(counts(x.tailnet)).toEqual(expected);
  // Whatever happened, no minted enrolment key is left valid.
  expect(x.tailnet.keys.filter((k) => k.description?.startsWith('tailnet-ir rebuild') && !k.revoked && !k.invalid)).toEqual([]);
  expect(x.tailnet.devices.some((d) => d.nodeId === 'nWEB1CNTRL' || d.nodeId === 'nLAPTOP1CNTRL' ? d.hostname === (path === 'tagged' ? 'web-1' : 'laptop-1') : false)).toBe(false);
  expect(await verifyJournalFile(x.store.journalPath('run-crash'))).toMatchObject({ ok: true });
}

describe.each(['tagged', 'user'] as const)('crash and resume, %s device', (path) => {
  it('the clean run completes with the expected mutations', () => {
    expect(clean[path].status).toBe('completed');
    expect(clean[path].entries).toBeGreaterThan(30);
    expect(clean[path].counts).toEqual(targets[path].expected);
  });

  const journalBoundaries = Array.from({ length: clean[path].entries }, (_, i) => i + 1);
  it.each(journalBoundaries)('crash after journal entry %i, resume: each mutation exactly once', async (n) => {
    await crashAndResume(path, { kind: 'journal', n });
  });

  const mutationBoundaries = Array.from({ length: clean[path].mutations }, (_, i) => i + 1);
  it.each(mutationBoundaries)('crash right after mutation %i landed (before the engine saw it), resume: exactly once', async (n) => {
    if (clean[path].order[n - 1] === 'createKey') {
      // The one deliberate exception: the key's secret lived only in the dead process, so the
      // orphaned key is revoked and a fresh one minted; the host is still enrolled once.
      const e = targets[path].expected;
      await crashAndResume(path, { kind: 'mutation', n }, { ...e, createKey: e.createKey + 1, deleteKey: e.deleteKey + 1 });
    } else {
      await crashAndResume(path, { kind: 'mutation', n });
    }
  });
});
