import type { AnyStep, Playbook } from '../core/playbook.js';
import { approvalMode } from '../core/playbook.js';
import type { ActivityRegistry } from './activity.js';

/**
 * Mermaid `stateDiagram-v2` of a playbook: steps in order, guards as skip edges, failure
 * handling, approval gates and destructive actions marked. Labels are quoted and stripped of
 * characters Mermaid treats as syntax.
 */
export function playbookMermaid(playbook: Playbook, registry: ActivityRegistry): string {
  const lines = ['stateDiagram-v2'];
  const sid = (id: string) => id.replace(/-/g, '_');
  const label = (text: string) => text.replace(/["\n\r:;{}<>]/g, ' ').replace(/\s+/g, ' ').trim();
  const describe = (s: AnyStep) => {
    const activity = registry.get(s.action);
    const gate = approvalMode(s) === 'required' || activity?.destructive ? ' [approval]' : '';
    const danger = activity?.destructive ? ' [destructive]' : '';
    return `${s.id} (${s.action})${gate}${danger}`;
  };
  for (const s of [...playbook.steps, ...playbook.compensations]) lines.push(`  state "${label(describe(s))}" as ${sid(s.id)}`);
  lines.push('  state "paused (resume to continue)" as paused', '  state "aborted" as aborted');
  const steps = playbook.steps;
  lines.push(`  [*] --> ${sid((steps[0] as AnyStep).id)}`);
  steps.forEach((s, i) => {
    const next = steps[i + 1];
    const to = next ? sid(next.id) : '[*]';
    lines.push(`  ${sid(s.id)} --> ${to}${s.when ? ' : done' : ''}`);
    if (s.when) lines.push(`  ${sid(s.id)} --> ${to} : skipped unless ${label(s.when)}`);
    switch (s.on_failure) {
      case 'pause':
        lines.push(`  ${sid(s.id)} --> paused : failure`);
        break;
      case 'skip':
        if (next) lines.push(`  ${sid(s.id)} --> ${to} : failure (skip)`);
        break;
      case 'abort':
        lines.push(`  ${sid(s.id)} --> aborted : failure`);
        break;
      case 'compensate':
        if (s.compensation) lines.push(`  ${sid(s.id)} --> ${sid(s.compensation)} : failure (compensate)`);
        break;
    }
  });
  for (const c of playbook.compensations) lines.push(`  ${sid(c.id)} --> aborted`);
  lines.push('  aborted --> [*]');
  return `${lines.join('\n')}\n`;
}
