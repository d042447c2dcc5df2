/** Human renderings of policy results. Device names and rule text can be hostile: callers pass
 * the result through terminalSafe before printing. */
import type { PolicyTestFailure } from '../types.js';
import type { ReachCheck, ReachReport, RuleRef } from './reach.js';
import type { QuarantinePlan } from './quarantine.js';
import type { ReleasePlan } from './release.js';
import type { AccessChange } from './blast-radius.js';

export function ruleRefText(r: RuleRef): string {
  if (r.index < 0) return 'implicit allow-all (the policy has neither "acls" nor "grants")';
  return `${r.kind === 'acl' ? 'acls' : 'grants'}[${r.index}] (line ${r.line}) ${JSON.stringify(r.dst)}`;
}

/** The admin console / GitOps rendering of test failures. */
export function renderTestFailures(failures: readonly PolicyTestFailure[]): string {
  if (failures.length === 0) return '';
  const lines = ['Error: test(s) failed'];
  for (const f of failures) {
    lines.push(`test(s) failed for user: ${f.user}`);
    for (const e of f.errors ?? []) lines.push(`    [acl test error]: ${e}`);
  }
  return lines.join('\n');
}

export function renderReach(r: ReachReport): string {
  const out: string[] = [];
  const srcs = r.sources.map((s) => (s.device ? `${s.device} ${s.address}` : s.address)).join(', ');
  out.push(`${r.from} (${srcs || 'no addresses'}) can reach:`);
  if (r.reachable.length === 0 && r.otherDestinations.length === 0) out.push('  nothing');
  for (const e of r.reachable) out.push(`  ${e.from} → ${e.device} ${e.address}  ${e.access}  via ${e.rules.map(ruleRefText).join('; ')}`);
  for (const o of r.otherDestinations) out.push(`  ${o.from} → ${o.dst} (non-device destination)  via ${o.rules.map(ruleRefText).join('; ')}`);
  return out.join('\n');
}

export function renderReachCheck(c: ReachCheck): string {
  const out = [`${c.from} → ${c.to}: ${c.allowed ? 'ALLOWED' : 'DENIED'}`];
  for (const p of c.pairs) {
    const tcp = p.tcp.length ? `tcp via ${p.tcp.map(ruleRefText).join('; ')}` : 'tcp denied';
    const udp = p.udp.length ? `udp via ${p.udp.map(ruleRefText).join('; ')}` : 'udp denied';
    out.push(`  ${p.from} → ${p.to}: ${tcp}; ${udp}`);
  }
  if (c.pairs.length === 0) out.push('  (no address pair of the same family: IPv4 and IPv6 are separate)');
  return out.join('\n');
}


function changeLine(c: AccessChange): string {
  return `${c.from} → ${c.to} (${c.family === 'v4' ? 'IPv4' : 'IPv6'}): ${c.before || 'nothing'} ⇒ ${c.after || 'nothing'}`;
}

function listed(title: string, items: string[], limit = 20): string[] {
  if (items.length === 0) return [];
  const out = [title, ...items.slice(0, limit).map((i) => `  ${i}`)];
  if (items.length > limit) out.push(`  … and ${items.length - limit} more (see --json)`);
  return out;
}

export function renderQuarantinePlan(plan: QuarantinePlan, options: { diff?: boolean } = {}): string {
  const out: string[] = [];
  const t = plan.targets.map((x) => `${x.name} (${x.nodeId}, ${x.addresses.join(', ')})`).join('; ');
  out.push(`Quarantine plan, run ${plan.run}: ${plan.status === 'ready' ? 'READY (proven)' : 'REFUSED'}`);
  out.push(`Target: ${t}`);
  out.push(`Responders keeping tcp:22: ${plan.responders.join(', ')}    quarantine tag: ${plan.quarantineTag}`);
  out.push(...listed('Refused because:', plan.refusals, 50));
  if (plan.steps.length) {
    out.push('Steps (apply in this order):');
    plan.steps.forEach((s, i) => {
      if (s.kind === 'set-policy') out.push(`  ${i + 1}. POST /api/v2/tailnet/-/acl (${s.stage}): ${s.description}`);
      else out.push(`  ${i + 1}. POST /api/v2/device/${s.nodeId}/tags {"tags": ${JSON.stringify(s.tags)}}  (${s.device}; had ${JSON.stringify(s.previousTags)})`);
    });
  }
  out.push(...listed('Edits:', plan.edits.map((e) => `#${e.n} [${e.stage}] ${e.description}`), 50));
  out.push(...listed('Proof:', plan.proof.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`), 50));
  const br = plan.blastRadius;
  if (br) {
    out.push(
      `Blast radius: ${br.pairsEvaluated} (source, destination, family) pairs evaluated on each side; ` +
        `other devices changed: ${br.othersChanged.length}; target lost ${br.fromTargets.length} outgoing path(s); ` +
        `inbound shrank on ${plan.summary.inboundShrunk}, grew on ${plan.summary.inboundGained}.`,
    );
    out.push(...listed('Changed for other devices (must be empty):', br.othersChanged.map(changeLine)));
    out.push(...listed('Lost by the target:', br.fromTargets.map(changeLine)));
    out.push(...listed('Access into the target that shrank:', br.intoTargets.filter((c) => c.lost).map(changeLine)));
    out.push(...listed('Access into the target that grew (responders only):', br.intoTargets.filter((c) => c.gained).map(changeLine)));
  }
  out.push(...listed('Added tests:', plan.addedTests.map((x) => JSON.stringify(x))));
  out.push(...listed('Warnings:', plan.warnings, 50));
  if (options.diff !== false && plan.diff) out.push('', plan.diff);
  return out.join('\n');
}

export function renderReleasePlan(plan: ReleasePlan): string {
  const out: string[] = [];
  const status = plan.status === 'ready' ? 'READY' : plan.status === 'conflict' ? 'CONFLICT (nothing released)' : 'nothing to release';
  out.push(`Release of quarantine run ${plan.run}: ${status} — ${plan.regionsFound} of ${plan.regionsExpected} marked region(s) found`);
  if (plan.status !== 'conflict')
    out.push(
      plan.testsChecked
        ? `Tests: the released policy passes its tests against the given devices${plan.stillParked.length ? ` (${plan.stillParked.length} parked test(s) left out, see warnings)` : ''}`
        : 'Tests: not checked against devices (none given)',
    );
  out.push(...listed('Conflicts:', plan.conflicts, 50));
  out.push(...listed('Warnings:', plan.warnings, 50));
  if (plan.diff) out.push('', plan.diff);
  return out.join('\n');
}
