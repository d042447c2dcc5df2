/** Human renderings of policy results. Device names and rule text can be hostile: callers pass
 * the result through terminalSafe before printing. */
import type { PolicyTestFailure } from '../types.js';
import type { ReachCheck, ReachReport, RuleRef } from './reach.js';

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
