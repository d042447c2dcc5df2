import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateEd25519KeyPair, type OpenSshKeyPair } from '../../../src/evidence/ed25519-keypair.js';

const { utils } = ssh2;

/** What ssh2 produces when the public key's first byte is zero: a 31-byte key. */
function truncated(pair: OpenSshKeyPair): OpenSshKeyPair {
  const [type, b64, ...rest] = pair.public.split(' ');
  const blob = Buffer.from(b64!, 'base64');
  const short = Buffer.concat([blob.subarray(0, 15), Buffer.from([0, 0, 0, 31]), blob.subarray(20)]);
  return { private: pair.private, public: [type, short.toString('base64'), ...rest].join(' ') };
}

describe('generateEd25519KeyPair', () => {
  it('every generated pair parses, public and private (ssh2 alone fails about 1 in 256)', () => {
    for (let i = 0; i < 1500; i++) {
      const pair = generateEd25519KeyPair({ comment: 'unit' });
      expect(Buffer.from(pair.public.split(' ')[1]!, 'base64')).toHaveLength(51);
      expect(utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
      expect(utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });

  it('throws a malformed pair away and returns the next good one', () => {
    const good = utils.generateKeyPairSync('ed25519', { comment: 'unit' });
    const calls: number[] = [];
    const pair = generateEd25519KeyPair({}, () => (calls.push(1), calls.length === 1 ? truncated(good) : good));
    expect(calls).toHaveLength(2);
    expect(pair).toBe(good);
  });

  it('gives up after a bounded number of malformed pairs', () => {
    const good = utils.generateKeyPairSync('ed25519');
    let calls = 0;
    expect(() => generateEd25519KeyPair({}, () => (calls++, truncated(good)))).toThrow(/well-formed ed25519 key pair/);
    expect(calls).toBe(16);
  });

  it('checks a passphrase-protected private key with its passphrase', () => {
    const pair = generateEd25519KeyPair({ passphrase: 'correct horse', cipher: 'aes256-ctr', rounds: 4 });
    expect(utils.parseKey(pair.private, 'correct horse')).not.toBeInstanceOf(Error);
    expect(utils.parseKey(pair.private)).toBeInstanceOf(Error);
  });
});
