import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { html, htmlLine, md, mdCode, mdFence } from '../../../src/report/escape.js';
import { terminalSafe, terminalSafeLine } from '../../../src/core/terminal-text.js';

// Strings rich in the characters that matter: markup, quotes, backticks, pipes, controls, bidi.
const nasty = fc.string({
  unit: fc.oneof(
    fc.constantFrom('<', '>', '&', '"', "'", '`', '|', '[', ']', '(', ')', '\\', '*', '_', '~', '!', ':', '/', '@', '.', 'w', '\n', '\r', '\t', '\u001b', '\u0007', '\u009b', '\u202e', ' ', '#', '$'),
    fc.string({ minLength: 0, maxLength: 1 }),
  ),
  maxLength: 60,
});

const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Undo CommonMark backslash escapes (what a renderer shows for our escaped text). */
const unescapeMd = (s: string) => s.replace(/\\([!-/:-@[-`{-~])/g, '$1');

describe('escapers (property)', () => {
  it('html: no raw markup characters or controls survive, and decoding gives the terminal-safe text back', () => {
    fc.assert(
      fc.property(nasty, (s) => {
        const out = html(s);
        expect(out).not.toMatch(/[<>"']/);
        expect(out).not.toMatch(controls);
        const decoded = out.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
        expect(decoded).toBe(terminalSafe(s));
        expect(htmlLine(s)).not.toMatch(/[\n\t]/);
      }),
      { numRuns: 500 },
    );
  });

  it('md: one line, every markup character escaped, and it reads back as the terminal-safe line', () => {
    fc.assert(
      fc.property(nasty, (s) => {
        const out = md(s);
        expect(out).not.toMatch(/[\n\r]/);
        expect(out).not.toMatch(controls);
        // every <, [, ], `, |, * , _ is preceded by an odd number of backslashes (i.e. escaped)
        for (const m of out.matchAll(/(\\*)([<[\]`|*_])/g)) expect((m[1] as string).length % 2, out).toBe(1);
        expect(unescapeMd(out)).toBe(terminalSafeLine(s));
      }),
      { numRuns: 500 },
    );
  });

  it('mdCode: the span closes exactly at its end and holds the text literally', () => {
    fc.assert(
      fc.property(nasty.filter((s) => s !== ''), (s) => {
        const out = mdCode(s);
        const fence = /^`+/.exec(out)?.[0] as string;
        expect(out.endsWith(fence)).toBe(true);
        let inner = out.slice(fence.length, out.length - fence.length);
        // no backtick run of the fence's length inside: the span cannot close early
        expect((inner.match(/`+/g) ?? []).every((r) => r.length !== fence.length)).toBe(true);
        if (inner.startsWith(' ') && inner.endsWith(' ') && /[^ ]/.test(inner)) inner = inner.slice(1, -1);
        expect(inner).toBe(terminalSafeLine(s));
      }),
      { numRuns: 500 },
    );
  });

  it('mdFence: no line inside can close the fence', () => {
    fc.assert(
      fc.property(nasty, (s) => {
        const out = mdFence(s, 'diff');
        const fence = /^`+/.exec(out)?.[0] as string;
        const lines = out.split('\n').slice(1, -1);
        expect(lines.every((l) => !new RegExp(`^ {0,3}${fence}`).test(l))).toBe(true);
        expect(out.split('\n').at(-1)).toBe(fence);
      }),
      { numRuns: 500 },
    );
  });
});
