import { describe, expect, it } from 'vitest';
import { checkPolicy, PolicyInvalidError } from '../../../../src/tailnet/policy/index.js';
import { fixtureInventory, fixtureText } from './support.js';

const inv = fixtureInventory();

describe('checkPolicy', () => {
  it('passes the fixture policy and its own tests', () => {
    expect(checkPolicy(fixtureText('policy.hujson'), inv)).toEqual({ failures: [] });
  });

  it('reports failed accept and deny assertions in Tailscale wording', () => {
    const r = checkPolicy(fixtureText('policy.hujson'), inv, {
      extraTests: [
        { src: 'bob@example.com', accept: ['tag:db:5432'], deny: ['tag:web:80'] },
        { src: 'tag:web', deny: ['tag:db:5432'], proto: 'sctp' },
      ],
    });
    expect(r.failures).toEqual([
      {
        user: 'bob@example.com',
        errors: ['address "tag:db:5432": want: Accept, got: Drop', 'address "tag:web:80": want: Drop, got: Accept'],
      },
    ]);
  });

  it('honours proto in tests', () => {
    const r = checkPolicy(fixtureText('policy.hujson'), inv, { includeOwnTests: false, extraTests: [{ src: 'tag:web', proto: 'udp', accept: ['tag:db:5432'] }, { src: 'tag:web', proto: 'sctp', accept: ['tag:db:5432'] }] });
    expect(r.failures).toEqual([{ user: 'tag:web', errors: ['address "tag:db:5432": want: Accept, got: Drop'] }]);
  });

  it('fails tests whose source has no devices or whose destination is not a single address', () => {
    const r = checkPolicy(fixtureText('policy.hujson'), inv, {
      includeOwnTests: false,
      extraTests: [
        { src: 'nobody@example.com', accept: ['tag:web:80'] },
        { src: 'bob@example.com', accept: ['office-lan:80', 'tag:web:80-90'] },
      ],
    });
    expect(r.failures).toHaveLength(2);
    expect(r.failures[0]).toEqual({ user: 'nobody@example.com', errors: ['no associated IPs for user (check spelling, or they may not have an approved machine)'] });
    expect(r.failures[1]?.errors).toHaveLength(2);
  });

  it('accepts legacy user/allow names', () => {
    const r = checkPolicy(fixtureText('policy.hujson'), inv, { includeOwnTests: false, extraTests: [{ user: 'bob@example.com', allow: ['tag:web:443'] }] });
    expect(r.failures).toEqual([]);
  });

  it('treats a host alias of an IPv4 as IPv4 only: an IPv6-only source cannot reach it', () => {
    const r = checkPolicy(fixtureText('policy.hujson'), inv, {
      includeOwnTests: false,
      extraTests: [{ src: 'fd7a:115c:a1e0::1', deny: ['db-primary:5432'] }, { src: '100.64.0.1', accept: ['db-primary:5432'] }],
    });
    expect(r.failures).toEqual([]);
  });

  it('throws PolicyInvalidError with the control server message for invalid policies', () => {
    expect(() => checkPolicy('{"acls": [{"action": "accept", "src": ["tag:nope"], "dst": ["*:*"]}]}', inv)).toThrow(
      new PolicyInvalidError('src=tag not found: "tag:nope"'),
    );
    expect(() => checkPolicy('{\n  "acls": [,]\n}', inv)).toThrow(/^line 2, column 12: invalid character ',' looking for beginning of value$/);
  });

  it('runs sshTests against the ssh section', () => {
    const text = `{
      "groups": {"group:ir": ["carol@example.com"]},
      "tagOwners": {"tag:web": []},
      "acls": [{"action": "accept", "src": ["*"], "dst": ["*:22"]}],
      "ssh": [
        {"action": "accept", "src": ["group:ir"], "dst": ["tag:web"], "users": ["root"]},
        {"action": "check", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["autogroup:nonroot"]},
      ],
      "sshTests": [
        {"src": "carol@example.com", "dst": ["tag:web"], "accept": ["root"], "deny": ["ubuntu"]},
        {"src": "alice@example.com", "dst": ["alice@example.com"], "check": ["alice"], "deny": ["root"]},
        {"src": "bob@example.com", "dst": ["tag:web"], "accept": ["root"]},
      ],
    }`;
    expect(checkPolicy(text, inv).failures).toEqual([{ user: 'bob@example.com', errors: ['ssh "root@tag:web": want: accept, got: deny'] }]);
  });
});
