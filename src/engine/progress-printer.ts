import { terminalSafeLine } from '../core/terminal-text.js';
import type { Clock } from '../core/clock.js';
import type { ProgressSink } from './ports.js';

/**
 * A progress sink for non-interactive runs: one line per event on the given stream (stderr by
 * default, so `--json` output on stdout stays clean). Messages can carry names from the
 * tailnet, so every line is escaped for the terminal.
 */
export function createProgressPrinter(write: (line: string) => void, clock: Clock): ProgressSink {
  return (event) => {
    const time = clock.now().toISOString().slice(11, 19);
    write(`${time} ${event.stepId ? `[${terminalSafeLine(event.stepId)}] ` : ''}${event.phase}: ${terminalSafeLine(event.message)}\n`);
  };
}
