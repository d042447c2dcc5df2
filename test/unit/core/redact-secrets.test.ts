import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretFieldName, redactSecrets, redactString } from '../../../src/core/redact-secrets.js';

// Built at run time so the fixture itself is not shaped like a real key in the source.
const fakeAuthKey = ['tskey', 'auth', 'kEXAMPLE', 'NOTAREALSECRETxx'].join('-');

describe('redactSecrets', () => {
  it('masks tskey-… strings anywhere, including inside longer text', () => {
    const out = redactSecrets({ note: `enrolled with ${fakeAuthKey} today`, list: [fakeAuthKey] });
    expect(JSON.stringify(out)).not.toContain('NOTAREALSECRET');
    expect(out.note).toBe(`enrolled with tskey-${REDACTED} today`);
  });

  it('masks fields named like secrets, keeps ids and booleans', () => {
    const out = redactSecrets({ key: 'abc', clientSecret: 'xyz', password: 'p', apiToken: 't', keyId: 'k123', keyIds: ['k1'], preauthorized: true, secret: false });
    expect(out).toEqual({ key: REDACTED, clientSecret: REDACTED, password: REDACTED, apiToken: REDACTED, keyId: 'k123', keyIds: ['k1'], preauthorized: true, secret: false });
  });

  it('masks private-key blocks and bearer credentials', () => {
    const pem = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const out = redactSecrets({ log: `x ${pem} y`, header: 'Authorization: Bearer abcdefghijklmnop' });
    expect(out.log).toBe(`x ${REDACTED} private key y`);
    expect(out.header).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactString('curl -H "X: Bearer eyJhbGciOi1JIUzI1NiJ9x"')).toBe(`curl -H "X: Bearer ${REDACTED}"`);
  });

  it('leaves prose that merely contains the words Basic or Bearer alone', () => {
    // A policy comment must survive the journal unchanged, or resume would apply altered text.
    for (const text of ['// Basic networking for the office', '// Bearer tokens are not used here anymore']) expect(redactString(text)).toBe(text);
  });

  it('does not mutate its input', () => {
    const input = { token: 'abc' };
    redactSecrets(input);
    expect(input.token).toBe('abc');
  });

  it.each(['key', 'TS_AUTHKEY', 'oauthClientSecret', 'refresh_token', 'passphrase'])('%s is a secret field name', (n) => expect(isSecretFieldName(n)).toBe(true));
  it.each(['keyId', 'keyIds', 'tokens_used_count', 'description', 'monkey'])('%s is not', (n) => expect(isSecretFieldName(n)).toBe(false));
});
