import { describe, expect, it } from 'vitest';
import { terminalSafe, terminalSafeLine } from '../../../src/core/terminal-text.js';

describe('terminalSafe', () => {
  it('escapes ANSI escape sequences so they cannot reach the terminal', () => {
    expect(terminalSafe('\u001b[31mred\u001b]0;title\u0007')).toBe('\\x1b[31mred\\x1b]0;title\\x07');
  });
  it('keeps newlines and tabs but escapes NUL, DEL, C1 and bidi overrides', () => {
    expect(terminalSafe('a\tb\nc\u0000\u007f\u009b\u202e')).toBe('a\tb\nc\\x00\\x7f\\x9b\\u202e');
  });
  it('leaves ordinary text, including non-ASCII, untouched', () => {
    expect(terminalSafe('web-1.tail1234.ts.net — ünïcødé')).toBe('web-1.tail1234.ts.net — ünïcødé');
  });
  it('line variant also escapes newline and tab', () => {
    expect(terminalSafeLine('a\nb\tc')).toBe('a\\nb\\tc');
  });
});
