import { checkPolicy, compilePolicy, parsePolicy, reachCheck, reachFrom, type RuleRef } from '../../tailnet/policy/index.js';
import type { SimPolicyChecker, SimPreviewMatch } from './sim-tailnet.js';

/** The simulator judges policy writes with the same engine the playbooks use. */
export const policyEngineChecker: SimPolicyChecker = {
  check: (text, inventory, options) => checkPolicy(text, inventory, options),

  preview(text, inventory, type, previewFor) {
    const model = compilePolicy(parsePolicy(text), inventory);
    const byRule = new Map<string, SimPreviewMatch & { ruleKey: string }>();
    const add = (ref: RuleRef, user: string) => {
      const key = `${ref.kind}:${ref.index}`;
      const m = byRule.get(key) ?? { ruleKey: key, users: [], ports: [], lineNumber: ref.line };
      if (!m.users.includes(user)) m.users.push(user);
      if (!m.ports.includes(ref.dst)) m.ports.push(ref.dst);
      byRule.set(key, m);
    };
    if (type === 'user') {
      const report = reachFrom(model, previewFor);
      for (const r of [...report.reachable, ...report.otherDestinations]) for (const ref of r.rules) add(ref, previewFor);
    } else {
      // Which rules let any device reach IP:port?
      for (const d of inventory.devices) {
        const label = (d.tags?.length ? d.tags.join(',') : d.user) ?? d.hostname;
        for (const address of d.addresses) {
          const check = reachCheck(model, address, previewFor);
          for (const p of check.pairs) for (const ref of [...p.tcp, ...p.udp]) add(ref, label);
        }
      }
    }
    return [...byRule.values()].sort((a, b) => a.lineNumber - b.lineNumber).map(({ ruleKey: _k, ...m }) => m);
  },
};
