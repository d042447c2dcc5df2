import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../../src/drill/sim-host/command-line.js';

describe('splitCommandLine', () => {
  it('undoes POSIX single-quoting, including the quote idiom', () => {
    expect(splitCommandLine(`'docker' 'inspect' 'it'\\''s' '$(touch /tmp/pwned)'`)).toEqual(['docker', 'inspect', "it's", '$(touch /tmp/pwned)']);
  });
  it('handles bare words, double quotes and backslashes', () => {
    expect(splitCommandLine('ls -la "/var/lib/tail scale" a\\ b')).toEqual(['ls', '-la', '/var/lib/tail scale', 'a b']);
  });
  it('refuses unquoted shell operators and unterminated quotes', () => {
    expect(splitCommandLine('cat /etc/passwd; rm -rf /')).toBeUndefined();
    expect(splitCommandLine('echo $(id)')).toBeUndefined();
    expect(splitCommandLine("'unterminated")).toBeUndefined();
  });
});
