/**
 * The collection plan: which commands `collect` would run on a node, before connecting. Pure:
 * placeholders known up front are filled in; per-item ones (`{id}`, `{dir}`) and program
 * choices (`{engine}`) stay visible as placeholders, with where their values will come from.
 */
import type { CollectorDefinition } from './collector-schema.js';
import { commandLineFromArgv } from './shell-quote.js';

export interface PlannedArtifact {
  collector: string;
  name: string;
  argv: string[];
  timeoutSeconds: number;
  maxBytes: number;
  foreach?: string;
  condition?: string;
  collect: boolean;
  reason?: string;
}

export function planCollection(
  collectors: readonly CollectorDefinition[],
  options: { variables?: Readonly<Record<string, string>>; includeSensitive?: boolean; since: string; until: string; host: string },
): PlannedArtifact[] {
  const plan: PlannedArtifact[] = [];
  for (const c of collectors) {
    const vars: Record<string, string> = { ...c.variables, ...options.variables, since: options.since, until: options.until, host: options.host };
    const fill = (text: string) => text.replace(/\{([a-zA-Z][a-zA-Z0-9_]*)\}/g, (whole, n: string) => vars[n] ?? whole);
    for (const a of c.artifacts) {
      const sensitive = a.sensitive || c.sensitive;
      const f = a.foreach;
      const source = f ? (f.builtin ? `builtin ${f.builtin}` : f.variable ? `variable ${f.variable}` : `lines of ${commandLineFromArgv((f.argv ?? ['?']).map(fill))} matching /${f.match ?? ''}/`) : undefined;
      const cond = [
        c.condition ? `collector: ${JSON.stringify(c.condition)}` : '',
        Object.keys(c.choose).length ? `choose ${Object.entries(c.choose).map(([k, v]) => `{${k}} from ${v.join('|')}`).join(', ')}` : '',
        a.condition ? JSON.stringify(a.condition).replace(/\{([a-zA-Z][a-zA-Z0-9_]*)\}/g, (w, n: string) => vars[n] ?? w) : '',
      ].filter(Boolean);
      plan.push({
        collector: c.id,
        name: fill(a.name),
        argv: a.argv.map(fill),
        timeoutSeconds: a.timeoutSeconds,
        maxBytes: a.maxBytes,
        ...(f && source ? { foreach: `{${f.as}} in ${source}` } : {}),
        ...(cond.length ? { condition: cond.join('; ') } : {}),
        collect: !sensitive || Boolean(options.includeSensitive),
        ...(sensitive && !options.includeSensitive ? { reason: 'sensitive: only with --include-sensitive' } : {}),
      });
    }
  }
  return plan;
}
