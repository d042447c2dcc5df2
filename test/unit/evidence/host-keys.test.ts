import { describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import {
  checkHostKey,
  keyTypeOfBlob,
  knownHostsName,
  parseKnownHosts,
  pinnedKeyAlgorithms,
  sha256Fingerprint,
} from '../../../src/evidence/host-keys.js';

function fakeBlob(type: string, seed: number): Buffer {
  const t = Buffer.from(type);
  const body = Buffer.alloc(32, seed);
  const b = Buffer.alloc(4 + t.length + 4 + body.length);
  b.writeUInt32BE(t.length, 0);
  t.copy(b, 4);
  b.writeUInt32BE(body.length, 4 + t.length);
  body.copy(b, 8 + t.length);
  return b;
}

const keyA = fakeBlob('ssh-ed25519', 1);
const keyB = fakeBlob('ssh-ed25519', 2);
const line = (hosts: string, blob: Buffer) => `${hosts} ${keyTypeOfBlob(blob)} ${blob.toString('base64')}`;

describe('host-key pinning', () => {
  it('formats fingerprints like ssh-keygen -lf (no padding)', () => {
    expect(sha256Fingerprint(keyA)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('matches plain, [host]:port and wildcard entries', () => {
    const entries = parseKnownHosts(
      [line('web-1,10.0.0.5', keyA), line('[10.0.0.6]:2222', keyA), line('*.lab,!bad.lab', keyA), '# comment', 'garbage'].join('\n'),
    );
    expect(entries).toHaveLength(3);
    const pin = { kind: 'known-hosts' as const, entries, source: 't' };
    expect(checkHostKey(pin, '10.0.0.5', 22, keyA).ok).toBe(true);
    expect(checkHostKey(pin, '10.0.0.6', 2222, keyA).ok).toBe(true);
    expect(checkHostKey(pin, '10.0.0.6', 22, keyA)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(checkHostKey(pin, 'x.lab', 22, keyA).ok).toBe(true);
    expect(checkHostKey(pin, 'bad.lab', 22, keyA)).toMatchObject({ ok: false, reason: 'unknown' });
    expect(checkHostKey(pin, 'web-1', 22, keyB)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('matches hashed entries (HMAC-SHA1 of the host name)', () => {
    const salt = randomBytes(20);
    const name = knownHostsName('10.1.2.3', 2200);
    const hash = createHmac('sha1', salt).update(name).digest('base64');
    const pin = { kind: 'known-hosts' as const, entries: parseKnownHosts(line(`|1|${salt.toString('base64')}|${hash}`, keyA)), source: 't' };
    expect(checkHostKey(pin, '10.1.2.3', 2200, keyA).ok).toBe(true);
    expect(checkHostKey(pin, '10.1.2.3', 22, keyA).ok).toBe(false);
  });

  it('refuses @revoked keys even when also listed', () => {
    const entries = parseKnownHosts(`${line('h', keyA)}\n@revoked ${line('h', keyA)}`);
    expect(checkHostKey({ kind: 'known-hosts', entries, source: 't' }, 'h', 22, keyA)).toMatchObject({ reason: 'revoked' });
  });

  it('pins by fingerprint, with or without base64 padding', () => {
    const fp = sha256Fingerprint(keyA);
    expect(checkHostKey({ kind: 'fingerprint', fingerprint: fp }, 'h', 22, keyA).ok).toBe(true);
    expect(checkHostKey({ kind: 'fingerprint', fingerprint: `${fp}=` }, 'h', 22, keyA).ok).toBe(true);
    expect(checkHostKey({ kind: 'fingerprint', fingerprint: fp }, 'h', 22, keyB)).toMatchObject({ reason: 'mismatch' });
  });

  it('offers only the pinned key types', () => {
    const entries = parseKnownHosts(`${line('h', keyA)}\n${line('h', fakeBlob('ssh-rsa', 3))}`);
    expect(pinnedKeyAlgorithms({ kind: 'known-hosts', entries, source: 't' }, 'h', 22)).toEqual([
      'ssh-ed25519',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
  });
});
