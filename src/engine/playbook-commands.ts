/** Implementations of `tailnet-ir playbooks …` (loaded lazily by the command module). */
import { ExitCode } from '../core/errors.js';
import { approvalMode, approvalPrompt, playbookJsonSchema } from '../core/playbook.js';
import { terminalSafe } from '../core/terminal-text.js';
import type { CommandReport } from './command-report.js';
import { createDefaultRegistry } from './activities/index.js';
import { findPlaybook, listPlaybooks } from './playbook-catalog.js';
import { loadPlaybookFile, PlaybookInvalidError, type LoadedPlaybook } from './playbook-loader.js';
import { playbookMermaid } from './playbook-graph.js';

interface Opts {
  dir?: string[];
  json?: boolean;
}

export async function listCommand(opts: Opts): Promise<CommandReport> {
  const registry = createDefaultRegistry();
  const entries = await listPlaybooks(registry, opts.dir ?? []);
  const rows = entries.map((e) =>
    e.loaded
      ? { id: e.loaded.playbook.id, file: e.file, valid: true, description: e.loaded.playbook.description, steps: e.loaded.playbook.steps.length }
      : { id: null, file: e.file, valid: false, error: e.error?.message ?? 'invalid' },
  );
  return {
    data: { playbooks: rows },
    exitCode: rows.some((r) => !r.valid) ? ExitCode.badInput : undefined,
    human: () =>
    rows
      .map((r) => (r.valid ? `${r.id}  ${r.steps} steps  ${r.description}\n    ${r.file}` : `INVALID  ${r.file}\n    ${r.error}`))
      .map(terminalSafe)
      .join('\n'),
  };
}

export async function showCommand(id: string, opts: Opts): Promise<CommandReport> {
  const registry = createDefaultRegistry();
  const { playbook, file } = await findPlaybook(id, registry, opts.dir ?? []);
  return { data: { file, playbook }, human: () => {
    const out = [`${playbook.id}: ${playbook.description}`, `file: ${file}`, '', 'inputs:'];
    for (const [name, spec] of Object.entries(playbook.inputs))
      out.push(`  ${name} (${spec.type}${spec.required ? ', required' : ''}): ${spec.description}`);
    out.push('', 'steps:');
    playbook.steps.forEach((s, i) => {
      const activity = registry.get(s.action);
      const gate = activity?.destructive ? 'approval required (destructive)' : approvalMode(s) === 'required' ? 'approval required' : 'auto';
      out.push(`  ${i + 1}. ${s.id}: ${s.action}  [${gate}; on failure ${s.on_failure}${s.retry ? `; ${s.retry.attempts} attempts` : ''}${s.timeout ? `; timeout ${s.timeout}` : ''}]`);
      if (activity) out.push(`     ${activity.summary}`);
      if (s.when) out.push(`     when: ${s.when}`);
      const prompt = approvalPrompt(s);
      if (prompt) out.push(`     asks: ${prompt}`);
    });
    return terminalSafe(out.join('\n'));
  } };
}

export async function validateCommand(ids: string[], opts: Opts): Promise<CommandReport> {
  const registry = createDefaultRegistry();
  const results: { file: string; id?: string; valid: boolean; issues: unknown[] }[] = [];
  if (ids.length === 0) {
    for (const e of await listPlaybooks(registry, opts.dir ?? []))
      results.push(e.loaded ? { file: e.file, id: e.loaded.playbook.id, valid: true, issues: [] } : failure(e.file, e.error));
  } else {
    for (const id of ids) {
      try {
        const loaded: LoadedPlaybook = /[/\\]|\.ya?ml$/.test(id) ? await loadPlaybookFile(id, registry) : await findPlaybook(id, registry, opts.dir ?? []);
        results.push({ file: loaded.file, id: loaded.playbook.id, valid: true, issues: [] });
      } catch (e) {
        if (!(e instanceof PlaybookInvalidError)) throw e;
        results.push(failure(e.file, e));
      }
    }
  }
  return {
    data: { valid: results.every((r) => r.valid), results },
    exitCode: results.some((r) => !r.valid) ? ExitCode.badInput : undefined,
    human: () =>
    terminalSafe(
      results
        .map((r) =>
          r.valid
            ? `ok       ${r.file} (${r.id})`
            : `INVALID  ${r.file}\n${(r.issues as { line?: number; column?: number; field?: string; message: string }[])
                .map((i) => `  ${r.file}:${i.line ?? '?'}:${i.column ?? '?'}${i.field ? ` ${i.field}` : ''}: ${i.message}`)
                .join('\n')}`,
        )
        .join('\n'),
    ),
  };
}

function failure(file: string, error: Error | undefined): { file: string; valid: false; issues: unknown[] } {
  return {
    file,
    valid: false,
    issues: error instanceof PlaybookInvalidError ? error.issues : [{ message: error?.message ?? 'invalid', field: '' }],
  };
}

export async function graphCommand(id: string, opts: Opts): Promise<CommandReport> {
  const registry = createDefaultRegistry();
  const { playbook } = await findPlaybook(id, registry, opts.dir ?? []);
  const mermaid = playbookMermaid(playbook, registry);
  return { data: { id: playbook.id, mermaid }, human: () => mermaid };
}

/** `tailnet-ir playbooks schema > playbooks/schema.json` regenerates the shipped schema. */
export function schemaCommand(): CommandReport {
  const schema = playbookJsonSchema();
  return { data: schema, human: () => `${JSON.stringify(schema, null, 2)}\n` };
}
