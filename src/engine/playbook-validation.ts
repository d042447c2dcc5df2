import type { z } from 'zod';
import { playbookSchema, type AnyStep, type Playbook } from '../core/playbook.js';
import { ExpressionError, guardReferences, paramReferences, parseGuard, type Reference } from '../core/expressions.js';
import type { ActivityRegistry } from './activity.js';

export interface PlaybookIssue {
  /** Path into the document, e.g. ['steps', 3, 'action']. */
  path: (string | number)[];
  message: string;
}

export type PlaybookCheck = { ok: true; playbook: Playbook } | { ok: false; issues: PlaybookIssue[] };

/**
 * Validate a parsed playbook document: the schema, then what the schema cannot say (actions
 * exist, ids unique, guards and references point at inputs and earlier steps, compensation
 * steps exist). Pure: no file or network access.
 */
export function validatePlaybook(doc: unknown, registry: ActivityRegistry): PlaybookCheck {
  const parsed = playbookSchema.safeParse(doc);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.map(fromZodIssue) };
  const playbook = parsed.data;
  const issues: PlaybookIssue[] = [];

  const seen = new Map<string, string>();
  const idIndex = (id: string, where: string) => {
    const prior = seen.get(id);
    if (prior) return prior;
    seen.set(id, where);
    return undefined;
  };
  playbook.steps.forEach((s, i) => {
    const prior = idIndex(s.id, `steps[${i}]`);
    if (prior) issues.push({ path: ['steps', i, 'id'], message: `step id ${JSON.stringify(s.id)} is already used by ${prior}` });
  });
  playbook.compensations.forEach((s, i) => {
    const prior = idIndex(s.id, `compensations[${i}]`);
    if (prior) issues.push({ path: ['compensations', i, 'id'], message: `step id ${JSON.stringify(s.id)} is already used by ${prior}` });
  });

  const compensationIds = new Set(playbook.compensations.map((c) => c.id));
  const allMainIds = playbook.steps.map((s) => s.id);

  const checkStep = (step: AnyStep, base: (string | number)[], earlier: string[]) => {
    const activity = registry.get(step.action);
    if (!activity) {
      issues.push({
        path: [...base, 'action'],
        message: `unknown action ${JSON.stringify(step.action)}; known actions: ${registry.names().join(', ')}`,
      });
    } else {
      const result = activity.params.safeParse(step.params);
      if (!result.success) {
        for (const issue of result.error.issues) {
          // A value that is a ${…} reference is only known at run time; its type is checked then.
          if (isReferenceAt(step.params, issue.path)) continue;
          issues.push({ path: [...base, 'params', ...toPath(issue.path)], message: issue.message });
        }
      }
    }
    const checkRefs = (refs: Reference[], at: (string | number)[]) => {
      for (const ref of refs) {
        if (ref.root === 'inputs' && !(ref.name in playbook.inputs))
          issues.push({ path: at, message: `${ref.text} names no declared input (inputs: ${Object.keys(playbook.inputs).join(', ') || 'none'})` });
        if (ref.root === 'steps' && !earlier.includes(ref.name))
          issues.push({
            path: at,
            message: allMainIds.includes(ref.name)
              ? `${ref.text} refers to step ${ref.name}, which does not run before ${step.id}`
              : `${ref.text} names no step of this playbook`,
          });
      }
    };
    if (step.when !== undefined) {
      try {
        checkRefs(guardReferences(parseGuard(step.when)), [...base, 'when']);
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        issues.push({ path: [...base, 'when'], message: `bad guard: ${e.message}` });
      }
    }
    try {
      checkRefs(paramReferences(step.params), [...base, 'params']);
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      issues.push({ path: [...base, 'params'], message: e.message });
    }
  };

  playbook.steps.forEach((step, i) => {
    checkStep(step, ['steps', i], allMainIds.slice(0, i));
    if (step.on_failure === 'compensate' && !step.compensation)
      issues.push({ path: ['steps', i, 'on_failure'], message: 'on_failure: compensate needs a `compensation` step id' });
    if (step.compensation !== undefined) {
      if (!compensationIds.has(step.compensation))
        issues.push({
          path: ['steps', i, 'compensation'],
          message: `compensation ${JSON.stringify(step.compensation)} is not defined under compensations (defined: ${[...compensationIds].join(', ') || 'none'})`,
        });
      if (step.on_failure !== 'compensate')
        issues.push({ path: ['steps', i, 'compensation'], message: 'compensation is only run with on_failure: compensate' });
    }
  });
  // A compensation runs after a failure, so it may read any main step (missing outputs fail at run time).
  playbook.compensations.forEach((step, i) => checkStep(step, ['compensations', i], allMainIds));

  return issues.length ? { ok: false, issues } : { ok: true, playbook };
}

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

function fromZodIssue(issue: z.core.$ZodIssue): PlaybookIssue {
  return { path: toPath(issue.path), message: issue.message };
}

function isReferenceAt(root: unknown, path: readonly PropertyKey[]): boolean {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return false;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return typeof v === 'string' && /\$\{[^}]*\}/.test(v);
}
