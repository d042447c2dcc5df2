import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controllingTerminalReveal } from '../../../src/cli/terminal-reveal.js';

describe('the manual key reveal only ever targets a real terminal', () => {
  it('a missing terminal path is not created (the key must never land in a regular file)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tnir-tty-')), 'tty');
    expect(controllingTerminalReveal(path)).toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });

  it('a regular file is not a terminal: no reveal, the file untouched', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tnir-tty-')), 'tty');
    writeFileSync(path, 'before');
    expect(controllingTerminalReveal(path)).toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe('before');
  });
});
