import { describe, expect, it } from 'vitest';
import { checkSigner, parseAllowedSigners } from '../../../src/evidence/allowed-signers.js';

const blob = Buffer.from('fake-ed25519-public-key-blob');
const b64 = blob.toString('base64');

describe('allowed_signers lines as OpenSSH writes them', () => {
  it('reads options, and a trailing comment, in every combination', () => {
    const signers = parseAllowedSigners(
      [
        `plain@x ssh-ed25519 ${b64}`,
        `commented@x ssh-ed25519 ${b64} tailnet-ir drill evidence`,
        `opts@x namespaces="tailnet-ir-drill" ssh-ed25519 ${b64}`,
        `both@x namespaces="tailnet-ir-drill,other" ssh-ed25519 ${b64} a comment with words`,
        `"quoted@x,second@x" valid-after="20260101",namespaces="a" ssh-ed25519 ${b64}`,
        `ca@x cert-authority ssh-ed25519 ${b64}`,
      ].join('\n'),
    );
    expect(signers.map((s) => [s.principals.join(','), s.namespaces?.join(',') ?? null, s.keyType])).toEqual([
      ['plain@x', null, 'ssh-ed25519'],
      ['commented@x', null, 'ssh-ed25519'],
      ['opts@x', 'tailnet-ir-drill', 'ssh-ed25519'],
      ['both@x', 'tailnet-ir-drill,other', 'ssh-ed25519'],
      ['quoted@x,second@x', 'a', 'ssh-ed25519'],
    ]);
    for (const s of signers) expect(s.keyBlob.equals(blob)).toBe(true);
    expect(checkSigner(signers, 'both@x', 'tailnet-ir-drill', blob).ok).toBe(true);
    expect(checkSigner(signers, 'both@x', 'tailnet-ir-evidence', blob).ok).toBe(false);
  });
});
