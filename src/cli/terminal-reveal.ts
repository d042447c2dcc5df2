/**
 * The only place a secret is printed: a manual rebuild's one-off key, written to the
 * controlling terminal and nowhere else — not to stdout (it may be `--json` for a pipe) nor
 * stderr (it may be a log file). The terminal is opened without O_CREAT (a missing /dev/tty must
 * not become a regular file holding the key) and must be a terminal. The key is shown only after
 * someone presses Enter on that terminal, so an unattended screen does not display it.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { isatty, ReadStream } from 'node:tty';
import { terminalSafeLine } from '../core/terminal-text.js';
import type { KeyHandover, RevealOnce } from '../rebuild/manual-enroller.js';

/** How long the reveal waits for Enter before giving up (the key is then revoked). */
const CONFIRM_TIMEOUT_MS = 10 * 60_000;

function openTerminal(path: string, flags: number): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, flags | constants.O_NOCTTY);
    if (isatty(fd)) return fd;
  } catch {
    /* no terminal */
  }
  if (fd !== undefined) closeSync(fd);
  return undefined;
}

export function controllingTerminalReveal(ttyPath = '/dev/tty', confirmTimeoutMs = CONFIRM_TIMEOUT_MS): RevealOnce {
  const probe = openTerminal(ttyPath, constants.O_WRONLY);
  if (probe === undefined) return undefined;
  closeSync(probe);
  return async (handover: KeyHandover) => {
    const out = openTerminal(ttyPath, constants.O_WRONLY);
    if (out === undefined) throw new Error('the terminal is gone');
    try {
      const rule = '─'.repeat(72);
      writeSync(out, ['', rule, terminalSafeLine(handover.title), 'Press Enter to show it (once; make sure this screen is not shared or recorded).', ''].join('\n'));
      await waitForEnter(ttyPath, confirmTimeoutMs);
      writeSync(out, ['', `    ${terminalSafeLine(handover.secret)}`, '', ...handover.lines.map(terminalSafeLine), rule, ''].join('\n'));
    } finally {
      closeSync(out);
    }
  };
}

function waitForEnter(ttyPath: string, timeoutMs: number): Promise<void> {
  const fd = openTerminal(ttyPath, constants.O_RDONLY);
  if (fd === undefined) return Promise.reject(new Error('cannot read from the terminal'));
  const input = new ReadStream(fd);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`nobody pressed Enter within ${Math.round(timeoutMs / 60_000)} min`)), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      input.off('data', onData);
      input.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer) => {
      if (chunk.includes(0x0a) || chunk.includes(0x0d)) done();
    };
    input.on('data', onData);
    input.on('error', (e) => done(e));
    input.on('end', () => done(new Error('the terminal closed')));
  });
}
