/**
 * Typed errors. Every error a user can hit says what happened, what was kept and what to do
 * next; the CLI maps `exitCode` straight to the process exit status.
 *
 * Exit codes: 0 success · 1 a check failed (tests, verification) · 2 bad input or usage ·
 * 3 remote failure (API, SSH) · 4 conflict or refusal (stale ETag, unsafe plan) ·
 * 5 paused, waiting for approval or operator action · 130 interrupted.
 */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  badInput: 2,
  remote: 3,
  conflict: 4,
  paused: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  /** What the user should do next. */
  hint?: string;
  cause?: unknown;
}

export class TailnetIrError extends Error {
  readonly exitCode: ExitCode = ExitCode.remote;
  readonly hint: string | undefined;
  /** Stable machine-readable kind for `--json` output. */
  readonly code: string = 'error';

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/** The command line or an input file is wrong. Nothing was changed. */
export class UsageError extends TailnetIrError {
  override readonly exitCode = ExitCode.badInput;
  override readonly code: string = 'usage';
}

/** An input file (scenario, policy, playbook, config) could not be read or is invalid. */
export class InputFileError extends UsageError {
  override readonly code = 'input-file';
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly location?: { line?: number; column?: number; field?: string },
    details: ErrorDetails = {},
  ) {
    super(formatInputFileMessage(file, detail, location), details);
  }
}

function formatInputFileMessage(
  file: string,
  detail: string,
  location?: { line?: number; column?: number; field?: string },
): string {
  const where: string[] = [];
  if (location?.line !== undefined) where.push(`line ${location.line}`);
  if (location?.column !== undefined) where.push(`column ${location.column}`);
  if (location?.field) where.push(`field ${location.field}`);
  return `${file}${where.length ? ` (${where.join(', ')})` : ''}: ${detail}`;
}

/** Credentials are missing or were refused. */
export class CredentialsError extends TailnetIrError {
  override readonly exitCode = ExitCode.badInput;
  override readonly code = 'credentials';
}

/** A check ran and failed: policy tests, signature verification, journal chain. */
export class CheckFailedError extends TailnetIrError {
  override readonly exitCode = ExitCode.checkFailed;
  override readonly code: string = 'check-failed';
}

/** The operation was refused because doing it would be unsafe or conflicts with newer state. */
export class ConflictError extends TailnetIrError {
  override readonly exitCode = ExitCode.conflict;
  override readonly code: string = 'conflict';
}

/** Something the user named does not exist. */
export class NotFoundError extends TailnetIrError {
  override readonly exitCode = ExitCode.badInput;
  override readonly code = 'not-found';
  constructor(
    readonly kind: string,
    readonly id: string,
    details: ErrorDetails & { suggestions?: readonly string[] } = {},
  ) {
    const near = details.suggestions?.length ? ` Did you mean: ${details.suggestions.join(', ')}?` : '';
    super(`${kind} not found: ${JSON.stringify(id)}.${near}`, details);
  }
}

export function isTailnetIrError(e: unknown): e is TailnetIrError {
  return e instanceof TailnetIrError;
}
