import { readFile } from 'node:fs/promises';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import { InputFileError } from '../core/errors.js';
import type { Playbook } from '../core/playbook.js';
import type { ActivityRegistry } from './activity.js';
import { validatePlaybook, type PlaybookIssue } from './playbook-validation.js';

export interface LocatedIssue extends PlaybookIssue {
  line?: number;
  column?: number;
  /** Dotted field path, e.g. `steps[3].action`. */
  field: string;
}

/** A playbook file that does not parse or validate. Lists every problem with its line. */
export class PlaybookInvalidError extends InputFileError {
  constructor(
    file: string,
    readonly issues: LocatedIssue[],
  ) {
    const first = issues[0] as LocatedIssue;
    super(
      file,
      issues.length > 1 ? `${first.message} (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : first.message,
      { line: first.line, column: first.column, field: first.field || undefined },
      { hint: `run \`tailnet-ir playbooks validate ${file}\` to list every problem; nothing was run.` },
    );
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file, issues: this.issues };
  }
}

export interface LoadedPlaybook {
  playbook: Playbook;
  /** Source text exactly as read (copied into the run directory so resume uses the same). */
  source: string;
  file: string;
}

export function formatField(path: (string | number)[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** Parse and validate playbook YAML text. Throws PlaybookInvalidError with located issues. */
export function parsePlaybook(source: string, file: string, registry: ActivityRegistry): Playbook {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new PlaybookInvalidError(
      file,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: [], field: '', message: `YAML: ${e.message.split('\n')[0] ?? e.code}`, line: pos.line, column: pos.col };
      }),
    );
  }
  const result = validatePlaybook(doc.toJS({ maxAliasCount: 100 }), registry);
  if (!result.ok) throw new PlaybookInvalidError(file, result.issues.map((i) => locate(doc, lineCounter, i)));
  return result.playbook;
}

export async function loadPlaybookFile(file: string, registry: ActivityRegistry): Promise<LoadedPlaybook> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    throw new InputFileError(file, `cannot read playbook: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, undefined, {
      hint: 'check the path; `tailnet-ir playbooks list` shows the playbooks found.',
    });
  }
  return { playbook: parsePlaybook(source, file, registry), source, file };
}

/** Map a document path to the line of the closest node that exists (the field itself may be missing). */
function locate(doc: Document, lineCounter: LineCounter, issue: PlaybookIssue): LocatedIssue {
  const field = formatField(issue.path);
  for (let n = issue.path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(issue.path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lineCounter.linePos(node.range[0]);
      return { ...issue, field, line: pos.line, column: pos.col };
    }
  }
  return { ...issue, field };
}
