import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../../../src/tailnet/policy/index.js';

/** Apply a unified diff produced by unifiedDiff to `a` (to check it is faithful). */
function applyDiff(a: string, diff: string): string {
  if (diff === '') return a;
  const src = a.split('\n');
  const out: string[] = [];
  let pos = 0;
  const lines = diff.split('\n').slice(2, -1);
  for (let i = 0; i < lines.length; i++) {
    const h = /^@@ -(\d+),(\d+) \+\d+,\d+ @@$/.exec(lines[i] as string);
    if (!h) throw new Error(`bad hunk header ${lines[i]}`);
    const start = Number(h[1]) - 1;
    while (pos < start) out.push(src[pos++] as string);
    while (i + 1 < lines.length && !(lines[i + 1] as string).startsWith('@@')) {
      const l = lines[++i] as string;
      if (l.startsWith(' ')) {
        expect(src[pos]).toBe(l.slice(1));
        out.push(src[pos++] as string);
      } else if (l.startsWith('-')) {
        expect(src[pos]).toBe(l.slice(1));
        pos++;
      } else out.push(l.slice(1));
    }
  }
  while (pos < src.length) out.push(src[pos++] as string);
  return out.join('\n');
}

describe('unifiedDiff', () => {
  it('shows a small change with context', () => {
    const d = unifiedDiff('a\nb\nc\nd\ne\nf\ng\nh\n', 'a\nb\nc\nd\nX\nf\ng\nh\n', 'old', 'new');
    expect(d).toBe('--- old\n+++ new\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+X\n f\n g\n h\n');
  });

  it('is faithful: applying it to the old text gives the new one', () => {
    const lines = fc.array(fc.constantFrom('a', 'b', 'c', '{', '}', ''), { maxLength: 40 });
    fc.assert(
      fc.property(lines, lines, (x, y) => {
        const a = x.join('\n');
        const b = y.join('\n');
        expect(applyDiff(a, unifiedDiff(a, b, 'a', 'b'))).toBe(b);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
