import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { commandLineFromArgv, quotePosixArg } from '../../../src/evidence/shell-quote.js';

describe('POSIX argument quoting', () => {
  it('single-quotes every argument and escapes embedded quotes', () => {
    expect(quotePosixArg("it's")).toBe(`'it'\\''s'`);
    expect(commandLineFromArgv(['docker', 'inspect', '$(touch /tmp/pwned)'])).toBe(
      `'docker' 'inspect' '$(touch /tmp/pwned)'`,
    );
  });

  it('rejects NUL bytes, which no argv can carry', () => {
    expect(() => quotePosixArg('a\0b')).toThrow(/NUL/);
  });

  it('round-trips arbitrary strings through a real sh unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 4 }), (args) => {
        const line = `printf '%s\\0' ${args.map(quotePosixArg).join(' ')}`;
        const out = execFileSync('sh', ['-c', line]);
        expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(
          args.map((a) => Buffer.from(a, 'utf8').toString('utf8')),
        );
      }),
      { numRuns: 60 },
    );
  });
});
