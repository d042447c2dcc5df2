/**
 * The only place a secret is printed: a manual rebuild's one-off key, written to the
 * controlling terminal (`/dev/tty`) and nowhere else — not to stdout (it may be `--json` for a
 * pipe) nor stderr (it may be a log file). No terminal, no reveal: the hand-over then fails.
 */
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { terminalSafeLine } from '../core/terminal-text.js';
import type { KeyHandover, RevealOnce } from '../rebuild/manual-enroller.js';

export function controllingTerminalReveal(ttyPath = '/dev/tty'): RevealOnce {
  try {
    closeSync(openSync(ttyPath, 'w'));
  } catch {
    return undefined;
  }
  return async (handover: KeyHandover) => {
    const tty = await open(ttyPath, 'w');
    try {
      const rule = '─'.repeat(72);
      await tty.write(
        ['', rule, terminalSafeLine(handover.title), '', `    ${terminalSafeLine(handover.secret)}`, '', ...handover.lines.map(terminalSafeLine), rule, ''].join('\n'),
      );
    } finally {
      await tty.close();
    }
  };
}
