/**
 * Collectors are data (`collectors/*.yaml`): which commands to run on a node, as argv arrays
 * with `{variable}` placeholders that are substituted per argument (never spliced into shell
 * text), plus output names, timeouts, byte caps and sensitivity. This module validates them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InputFileError } from '../core/errors.js';

const identifier = z.string().regex(/^[a-z][a-zA-Z0-9_-]*$/, 'must be a lower-case identifier');
const argv = z.array(z.string()).min(1);

export const conditionSchema = z.union([
  z.object({ commandExists: z.string().min(1) }).strict(),
  z.object({ pathExists: z.string().min(1) }).strict(),
]);
export type CollectorCondition = z.infer<typeof conditionSchema>;

/** Built-in item sources computed from the node's container inventory (docker/podman inspect). */
export const BUILTIN_SOURCES = ['export-targets', 'sidecar-compose-dirs'] as const;

export const foreachSchema = z
  .object({
    as: identifier,
    /** Run this command; each output line that matches `match` is one item. */
    argv: argv.optional(),
    match: z.string().optional(),
    builtin: z.enum(BUILTIN_SOURCES).optional(),
    /** A list variable supplied by the run (e.g. compose directories named by the operator). */
    variable: identifier.optional(),
    maxItems: z.number().int().positive().max(10_000).default(500),
  })
  .strict()
  .refine((f) => [f.argv, f.builtin, f.variable].filter((x) => x !== undefined).length >= 1, {
    message: 'foreach needs argv, builtin or variable',
  })
  .refine((f) => f.argv === undefined || f.match !== undefined, { message: 'foreach.argv needs a match pattern' });

export const artifactSpecSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    argv,
    timeoutSeconds: z.number().positive().max(86_400).default(60),
    idleTimeoutSeconds: z.number().positive().max(86_400).optional(),
    maxBytes: z.number().int().positive().default(256 * 1024 * 1024),
    sensitive: z.boolean().default(false),
    /** A non-zero exit is an expected outcome (e.g. a file that may not exist), not a failure. */
    optional: z.boolean().default(false),
    condition: conditionSchema.optional(),
    foreach: foreachSchema.optional(),
    /** Redact secret values (KEY=…, `key: …`, tskey-…) line by line before archiving. */
    redact: z.enum(['secrets']).optional(),
  })
  .strict();
export type ArtifactSpec = z.infer<typeof artifactSpecSchema>;

export const collectorSchema = z
  .object({
    id: identifier,
    description: z.string().min(1),
    /** Default values of variables; the run may override them. */
    variables: z.record(identifier, z.string()).default({}),
    /** Pick the first program that exists on the node, e.g. `engine: [docker, podman]`. */
    choose: z.record(identifier, z.array(z.string().regex(/^[a-zA-Z0-9._-]+$/)).min(1)).default({}),
    condition: conditionSchema.optional(),
    sensitive: z.boolean().default(false),
    artifacts: z.array(artifactSpecSchema).min(1),
  })
  .strict();
export type CollectorDefinition = z.infer<typeof collectorSchema>;

/** Variables every run provides. */
export const RUN_VARIABLES = ['since', 'until', 'host'] as const;

const placeholder = /\{([a-zA-Z][a-zA-Z0-9_]*)\}/g;

export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(placeholder)].map((m) => m[1] as string);
}

/** Substitute `{name}` placeholders inside one argument; unknown names are an error. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(placeholder, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`unknown variable {${name}}`);
    return v;
  });
}

/** Cross-field checks zod cannot express: every placeholder must be defined somewhere. */
function checkPlaceholders(def: CollectorDefinition, runVariables: readonly string[]): string[] {
  const errors: string[] = [];
  const base = new Set([...Object.keys(def.variables), ...Object.keys(def.choose), ...RUN_VARIABLES, ...runVariables]);
  const check = (text: string, where: string, extra?: string) => {
    for (const p of placeholdersIn(text)) if (!base.has(p) && p !== extra) errors.push(`${where}: unknown variable {${p}}`);
  };
  def.artifacts.forEach((a, i) => {
    const as = a.foreach?.as;
    a.argv.forEach((arg) => check(arg, `artifacts[${i}].argv`, as));
    check(a.name, `artifacts[${i}].name`, as);
    a.foreach?.argv?.forEach((arg) => check(arg, `artifacts[${i}].foreach.argv`));
    if (a.condition) check('commandExists' in a.condition ? a.condition.commandExists : a.condition.pathExists, `artifacts[${i}].condition`, as);
    if (a.foreach?.match) {
      try {
        new RegExp(a.foreach.match);
      } catch {
        errors.push(`artifacts[${i}].foreach.match: invalid regular expression`);
      }
    }
  });
  return errors;
}

export function parseCollector(text: string, file: string, runVariables: readonly string[] = []): CollectorDefinition {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new InputFileError(file, `not valid YAML: ${(err as Error).message}`);
  }
  const parsed = collectorSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputFileError(file, issue?.message ?? 'invalid collector', { field: issue?.path.join('.') ?? '' });
  }
  const errors = checkPlaceholders(parsed.data, runVariables);
  if (errors.length) throw new InputFileError(file, errors.join('; '));
  return parsed.data;
}

/** Load every `*.yaml` in a collectors directory, keyed by id. */
export async function loadCollectors(dir: string, runVariables: readonly string[] = []): Promise<Map<string, CollectorDefinition>> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  const out = new Map<string, CollectorDefinition>();
  for (const f of files) {
    const def = parseCollector(await readFile(join(dir, f), 'utf8'), join(dir, f), runVariables);
    if (out.has(def.id)) throw new InputFileError(join(dir, f), `duplicate collector id ${def.id}`);
    out.set(def.id, def);
  }
  return out;
}

/** The collectors that ship with tailnet-ir (`collectors/` at the package root). */
export const bundledCollectorsDir = new URL('../../collectors/', import.meta.url);

/** JSON Schema for editors and docs. */
export function collectorJsonSchema(): unknown {
  return z.toJSONSchema(collectorSchema, { io: 'input' });
}
