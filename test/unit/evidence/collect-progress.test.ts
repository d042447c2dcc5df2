import { describe, expect, it } from 'vitest';
import { progressPrinter, parseSshDestination } from '../../../src/evidence/collect-command.js';
import { UsageError } from '../../../src/core/errors.js';

describe('collect progress and arguments', () => {
  it('shows bytes and artifact counts, escaping hostile names from the node', () => {
    let text = '';
    const p = progressPrinter({ write: (t: string) => (text += t) });
    p({ type: 'host', host: 'web-1', state: 'connected' });
    p({ type: 'artifact-bytes', host: 'web-1', collector: 'containers', name: 'x\u001b]0;pwned\u0007', bytes: 3 * 1048576 });
    p({
      type: 'artifact-done',
      record: {
        path: 'p', host: 'web-1', collector: 'containers', name: 'evil\u001b[2J', sha256: 'a'.repeat(64), bytes: 1048576, argv: [],
        startedAt: '', endedAt: '', exitCode: 0, signal: null, stderrExcerpt: '', truncated: false, partial: false, timedOut: false, sensitive: false, redacted: false,
      },
    });
    p({ type: 'sealing' });
    expect(text).toContain('[web-1] connected');
    expect(text).toContain('3.0 MiB');
    expect(text).toContain('1 artifacts, 1.0 MiB');
    expect(text).toContain('evil\\x1b[2J');
    expect(text).not.toContain('\u001b]0;');
    expect(text).not.toContain('\u001b[2J');
  });

  it('is silent without a terminal', () => {
    expect(() => progressPrinter(undefined)({ type: 'sealing' })).not.toThrow();
  });

  it('parses USER@HOST[:PORT] including IPv6, and rejects the rest', () => {
    expect(parseSshDestination('root@web-1', '--host')).toEqual({ user: 'root', address: 'web-1', port: 22 });
    expect(parseSshDestination('ir@[fd7a:115c:a1e0::1]:2222', '--host')).toEqual({ user: 'ir', address: 'fd7a:115c:a1e0::1', port: 2222 });
    expect(() => parseSshDestination('web-1', '--host')).toThrow(UsageError);
    expect(() => parseSshDestination('root@host:99999', '--host')).toThrow(/out of range/);
    expect(() => parseSshDestination('root@$(id)', '--host')).toThrow(UsageError);
    expect(() => parseSshDestination('-oProxyCommand=x@h', '--host')).toThrow(UsageError);
  });
});
