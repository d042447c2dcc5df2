/**
 * Crash safety of the real thing: `tailnet-ir respond` (a child process, real HTTP client,
 * real SSH collection) against the drill lab, SIGKILLed at every boundary around a mutation
 * (the mutating step's `intent` and `done` journal entries), then `tailnet-ir resume` in new
 * processes until the run completes. The simulated tailnet's audit log must show every change
 * exactly once, the policy must end exactly as it began, and the journal chain must verify.
 *
 * Mutating requests get a little latency so the kill after an `intent` reliably lands while
 * the request is in flight: the simulator may then apply it after the process died (the
 * engine never saw the answer) or not at all; resume must cope with both.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it, type ExpectStatic } from 'vitest';
import { startDrillLab, type DrillLab } from '../../../src/drill/drill-lab.js';
import { loadScenario } from '../../../src/drill/sim/scenario.js';
import { journalHas, readJournal, runCliKillable, soleRunId } from '../../support/cli-process.js';
import { writeLabConfig } from '../../support/lab-config.js';

const mutatingSteps = ['quarantine', 'revoke-keys', 'delete-device', 'recreate', 'release-quarantine'];
// `collecting`: mid-collection, once the partial archive exists (collection is re-run on resume
// into a new archive; the partial one is kept).
// `minted`: the moment the simulator has created the one-off rebuild key, before the process
// could hand it to the host (the one crash resume cannot undo without a second key).
type KillPoint = [type: 'intent' | 'done' | 'collecting' | 'minted' | 'never', step: string];
const killPoints: KillPoint[] = [
  ['never', '(control run)'],
  ...mutatingSteps.flatMap((s) => [['intent', s] as KillPoint, ['done', s] as KillPoint]),
  ['collecting', 'collect'],
  ['minted', 'recreate'],
];

function rebuildKeyMinted(lab: DrillLab): boolean {
  return lab.sim.tailnet.auditLog().some((e) => e.action === 'CREATE' && e.target.type === 'API_KEY');
}

function partialArchiveExists(home: string): boolean {
  const id = soleRunId(home);
  const dir = id && join(home, 'runs', id, 'evidence');
  return Boolean(dir && existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.partial')));
}

interface Lab {
  lab: DrillLab;
  env: NodeJS.ProcessEnv;
  home: string;
  configFile: string;
}

async function startLab(target = 'web-2'): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'tnir-kill-'));
  const lab = await startDrillLab({ scenario: await loadScenario(), dir, target });
  const home = join(dir, 'home');
  return { lab, home, configFile: writeLabConfig(lab, target), env: { ...lab.apiEnv, TAILNET_IR_HOME: home, SSH_AUTH_SOCK: '' } };
}

/**
 * `respond TARGET` killed when `killWhen` first holds (mutating requests slowed so the kill
 * lands while one is in flight), then `resume` in new processes until completed (at most 3).
 */
async function killThenResume(
  expect: ExpectStatic,
  l: Lab,
  target: string,
  killWhen: (() => boolean) | undefined,
  afterKill: (runId: string) => void = () => undefined,
): Promise<{ runId: string; killed: boolean }> {
  for (const method of ['POST', 'DELETE']) l.lab.sim.faults.add({ kind: 'latency', route: `${method} /api/v2/**`, ms: 200 });
  const first = await runCliKillable(['respond', target, '--config', l.configFile, '--approve', 'all', '--json'], {
    env: l.env,
    timeoutMs: 60_000,
    ...(killWhen ? { killWhen } : {}),
  });
  const runId = soleRunId(l.home)!;
  expect(runId, first.stderr).toBeDefined();
  l.lab.sim.faults.clear();
  if (!killWhen) {
    expect(first.code, first.stderr).toBe(0);
    return { runId, killed: false };
  }
  expect(first.killed, `the kill point was never reached: ${first.stderr}`).toBe(true);
  expect(first.signal).toBe('SIGKILL');
  afterKill(runId);
  await sleep(300); // a request the dead process left in flight lands (or not) before resume
  let status = 'started';
  for (let attempt = 0; attempt < 3 && status !== 'completed'; attempt++) {
    const r = await runCliKillable(['resume', runId, '--config', l.configFile, '--approve', 'all', '--json'], { env: l.env, timeoutMs: 60_000 });
    expect(r.code === 0 || r.code === 5, `resume exit ${r.code}: ${r.stderr}`).toBe(true);
    status = (JSON.parse(r.stdout) as { status: string }).status;
  }
  expect(status).toBe('completed');
  return { runId, killed: true };
}

describe.concurrent('respond SIGKILLed at a step boundary, resumed by new processes', () => {
  it.for<KillPoint>(killPoints)('kill at %s %s: completes, each mutation exactly once, journal verifies', { timeout: 150_000 }, async ([type, step], { expect }) => {
    const l = await startLab();
    const { lab, env, home } = l;
    try {
      const originalPolicy = lab.sim.tailnet.policy().text;
      const web2Before = lab.sim.tailnet.listDevices(false).find((d) => d.hostname === 'web-2')!;
      const compromisedKey = lab.sim.tailnet.listKeysAll().find((k) => k.description === 'web tier')!;
      let enrolledAtKill = -1;
      let journalAtKill: ReturnType<typeof readJournal> = [];
      const killWhen = type === 'never' ? undefined : type === 'minted' ? () => rebuildKeyMinted(lab) : type === 'collecting' ? () => partialArchiveExists(home) : journalHas(home, type, step);
      const { runId } = await killThenResume(
        expect,
        l,
        'web-2',
        killWhen,
        (id) => {
          enrolledAtKill = lab.enrolledKeys.length;
          journalAtKill = readJournal(home, id);
        },
      );
      if (type !== 'never') {
        expect(journalAtKill.some((e) => e.type === 'done' && e.step === 'report')).toBe(false);
        // The kill landed inside the window it was aimed at: after an intent, before its done.
        if (type === 'intent') expect(journalAtKill.some((e) => e.type === 'done' && e.step === step)).toBe(false);
      }

      const audit = lab.sim.tailnet.auditLog();
      const count = (action: string, targetType: string, property?: string) =>
        audit.filter((e) => e.action === action && e.target.type === targetType && (property === undefined || e.target.property === property)).length;
      // Staged quarantine: policy write, retag, policy write; release: one policy write.
      expect(count('UPDATE', 'TAILNET', 'ACL')).toBe(3);
      expect(count('UPDATE', 'NODE', 'ACL_TAGS')).toBe(1);
      expect(audit.filter((e) => e.action === 'REVOKE' && e.target.id === compromisedKey.id)).toHaveLength(1);
      expect(count('DELETE', 'NODE')).toBe(1);
      expect(count('CREATE', 'NODE')).toBe(1);
      const minted = audit.filter((e) => e.action === 'CREATE' && e.target.type === 'API_KEY');
      const revoked = audit.filter((e) => e.action === 'REVOKE');
      if (type === 'minted' && enrolledAtKill === 0) {
        // Killed between minting and enrolling: the exception must show, exactly like this.
        expect(minted).toHaveLength(2);
      }
      if (minted.length === 1) {
        expect(revoked).toHaveLength(1);
      } else {
        // The documented exception: the key was minted but the process died before handing
        // it over, so resume revoked that orphan (never used) and minted another.
        expect(step === 'recreate' && type !== 'done', `${minted.length} keys minted after a kill at ${type} ${step}`).toBe(true);
        expect(minted).toHaveLength(2);
        expect(revoked.map((e) => e.target.id).sort()).toEqual([compromisedKey.id, minted[0]!.target.id].sort());
        expect(lab.enrolledKeys).toHaveLength(1);
      }

      expect(lab.sim.tailnet.policy().text).toBe(originalPolicy);
      const web2After = lab.sim.tailnet.listDevices(false).filter((d) => d.hostname === 'web-2');
      expect(web2After).toHaveLength(1);
      expect(web2After[0]!.nodeId).not.toBe(web2Before.nodeId);
      expect(web2After[0]!.tags).toEqual(web2Before.tags);

      if (type === 'collecting') {
        // The interrupted attempt's partial archive is kept; the sealed archive is a new attempt.
        const files = readdirSync(join(home, 'runs', runId, 'evidence'));
        expect(files).toEqual(expect.arrayContaining([`evidence-${runId}.tar.gz.partial`, `evidence-${runId}-attempt-2.tar.gz.sig`]));
      }

      const verify = await runCliKillable(['journal', 'verify', runId, '--json'], { env, timeoutMs: 30_000 });
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    } finally {
      await lab.close();
    }
  });
});

describe.concurrent('respond for a user-owned node SIGKILLed around the suspension, resumed', () => {
  const userKillPoints: KillPoint[] = [
    ['intent', 'suspend-user'],
    ['done', 'suspend-user'],
    ['intent', 'delete-device'],
  ];
  it.for<KillPoint>(userKillPoints)('kill at %s %s: the owner is suspended once, the node deleted once', { timeout: 150_000 }, async ([type, step], { expect }) => {
    const l = await startLab('bob-laptop');
    const { lab, home, env } = l;
    try {
      const originalPolicy = lab.sim.tailnet.policy().text;
      let journalAtKill: ReturnType<typeof readJournal> = [];
      const { runId } = await killThenResume(expect, l, 'bob-laptop', journalHas(home, type, step), (id) => (journalAtKill = readJournal(home, id)));
      if (type === 'intent') expect(journalAtKill.some((e) => e.type === 'done' && e.step === step)).toBe(false);

      const audit = lab.sim.tailnet.auditLog();
      expect(audit.filter((e) => e.action === 'SUSPEND' && e.target.name === 'bob@example.com')).toHaveLength(1);
      expect(audit.filter((e) => e.action === 'DELETE' && e.target.type === 'NODE')).toHaveLength(1);
      expect(audit.filter((e) => e.target.property === 'ACL' && e.action === 'UPDATE')).toHaveLength(3);
      expect(audit.filter((e) => e.target.property === 'ACL_TAGS')).toHaveLength(1);
      expect(audit.filter((e) => e.action === 'REVOKE' || e.action === 'CREATE')).toEqual([]);
      expect(lab.sim.tailnet.listUsers('all').find((u) => u.loginName === 'bob@example.com')!.status).toBe('suspended');
      expect(lab.sim.tailnet.listDevices(false).filter((d) => d.hostname === 'bob-laptop')).toEqual([]);
      // Released, except the policy test about bob, parked on purpose while bob is suspended
      // (it would fail now); everything else is back to the original text.
      const after = lab.sim.tailnet.policy().text;
      expect(after).not.toContain('tag:quarantine-');
      const markers = [...after.matchAll(/\/\* tailnet-ir quarantine (\S+) #\d+\/\d+ begin was="((?:[^"\\]|\\.)*)" meta=(\{[^}]*\}) sha=\w+ \*\/\/\* tailnet-ir quarantine \S+ #\d+\/\d+ end \*\//g)];
      expect(markers.map((m) => [m[1], m[3]])).toEqual([[runId, '{"parked":"tests"}']]);
      const parked = JSON.parse(`"${markers[0]![2]!}"`) as string;
      expect(parked).toContain('"src": "bob@example.com"');
      expect(after.replace(markers[0]![0], parked)).toBe(originalPolicy);
      const verify = await runCliKillable(['journal', 'verify', runId, '--json'], { env, timeoutMs: 30_000 });
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    } finally {
      await lab.close();
    }
  });
});
