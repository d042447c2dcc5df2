import { isTailnetIrError, ExitCode } from '../core/errors.js';
import { terminalSafe } from '../core/terminal-text.js';
import { redactSecrets, redactString } from '../core/redact-secrets.js';
import type { CommandReport } from '../engine/command-report.js';

/** Print a command's result: JSON (one document on stdout) or the human rendering. */
export function emit(json: boolean | undefined, data: unknown, human: () => string): void {
  if (json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const text = human();
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** Render an error for the user and return the exit code it maps to. */
export function reportError(err: unknown, json: boolean): number {
  // Errors can quote what a server or a node said: mask anything secret-shaped before printing.
  if (isTailnetIrError(err)) {
    if (json) process.stdout.write(`${JSON.stringify(redactSecrets(err.toJSON()))}\n`);
    else {
      process.stderr.write(`error: ${terminalSafe(redactString(err.message))}\n`);
      if (err.hint) process.stderr.write(`hint: ${terminalSafe(redactString(err.hint))}\n`);
    }
    return err.exitCode;
  }
  const message = redactString(err instanceof Error ? err.message : String(err));
  if (json) process.stdout.write(`${JSON.stringify({ error: 'internal', message })}\n`);
  else {
    process.stderr.write(`internal error: ${terminalSafe(message)}\n`);
    if (process.env.TAILNET_IR_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.stderr.write('hint: this is a bug in tailnet-ir; rerun with TAILNET_IR_DEBUG=1 for a stack trace.\n');
  }
  return ExitCode.remote;
}

/**
 * Print a command implementation's report and set the exit code. The report promise is awaited
 * first, so a rejection is handled at once (never an unhandled rejection racing the output).
 */
export async function printReport(report: CommandReport | Promise<CommandReport>, json?: boolean): Promise<void> {
  const r = await report;
  emit(json, r.data, r.human);
  if (r.exitCode) process.exitCode = r.exitCode;
}
