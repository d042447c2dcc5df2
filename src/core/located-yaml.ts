import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { InputFileError } from './errors.js';

/**
 * Parse YAML (or JSON, which is YAML) and validate it with a zod schema; every error names the
 * file, the line and the field, e.g. `bad.yaml (line 3, field users[0].role): …`.
 */
export function parseLocatedYaml<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new InputFileError(file, e.message.split('\n')[0] ?? 'invalid YAML', { line: pos.line, column: pos.col });
  }
  const result = schema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
    const line = lineOf(doc, lineCounter, path);
    throw new InputFileError(file, issue.message, { ...(line ? { line } : {}), field: formatFieldPath(path) });
  }
  return result.data as z.infer<S>;
}

/** Line of the deepest node on `path` that exists (the field itself may be missing). */
export function lineOf(doc: Document, lineCounter: LineCounter, path: (string | number)[]): number | undefined {
  let current = doc.contents as YamlNode | null | undefined;
  let last = current;
  for (const key of path) {
    if (isMap(current)) current = current.get(key, true) as YamlNode | undefined;
    else if (isSeq(current) && typeof key === 'number') current = current.get(key, true) as YamlNode | undefined;
    else break;
    if (!current) break;
    last = current;
  }
  return last?.range ? lineCounter.linePos(last.range[0]).line : undefined;
}

/** `['users', 0, 'role']` → `users[0].role`. */
export function formatFieldPath(path: (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(top level)';
}
