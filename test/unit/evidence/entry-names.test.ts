import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { artifactEntryPath, isSafeEntryPath, sanitizeSegment } from '../../../src/evidence/entry-names.js';

describe('archive entry names from hostile data', () => {
  it('neutralises traversal, separators and control bytes', () => {
    expect(artifactEntryPath('web-1', 'containers', '../../etc/x')).toBe('artifacts/web-1/containers/__/__/etc/x');
    expect(sanitizeSegment('..')).toBe('__');
    expect(sanitizeSegment('a/b')).toBe('a_b');
    expect(sanitizeSegment('\u001b[31mred\u0000')).toBe('_[31mred_');
    expect(sanitizeSegment('$(touch /tmp/pwned)')).toBe('$(touch__tmp_pwned)');
  });

  it('always yields a safe path under artifacts/<host>/<collector>/', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (h, c, n) => {
        const p = artifactEntryPath(h, c, n);
        expect(isSafeEntryPath(p)).toBe(true);
        expect(p.split('/').length).toBeGreaterThanOrEqual(4);
        expect(p.startsWith('artifacts/')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('recognises unsafe entry names when reading archives', () => {
    expect(isSafeEntryPath('../x')).toBe(false);
    expect(isSafeEntryPath('/etc/passwd')).toBe(false);
    expect(isSafeEntryPath('a/./b')).toBe(false);
    expect(isSafeEntryPath('artifacts/h/c/x.txt')).toBe(true);
  });
});
