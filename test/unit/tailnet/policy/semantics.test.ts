/**
 * Table-driven semantics, from Tailscale's documented examples and the control-server captures
 * summarised in the shared reference policy-semantics.md (capture ids in the test names).
 */
import { describe, expect, it } from 'vitest';
import { checkPolicy, compilePolicy, parseIp, parsePolicy, PolicyInvalidError } from '../../../../src/tailnet/policy/index.js';
import type { Inventory } from '../../../../src/tailnet/policy/index.js';
import { device, user } from './support.js';

const inv: Inventory = {
  users: [user('alice@example.com', 'admin'), user('bob@example.com'), user('carol@other.org')],
  devices: [
    device(1, 'alice-laptop', 'alice@example.com'),
    device(2, 'alice-phone', 'alice@example.com'),
    device(3, 'bob-laptop', 'bob@example.com'),
    device(4, 'server-a', 'alice@example.com', ['tag:a']),
    device(5, 'server-b', 'bob@example.com', ['tag:b']),
    device(6, 'carol-laptop', 'carol@other.org', [], { postureAttributes: { 'node:os': 'linux' } }),
  ],
};
const v4 = (n: number) => parseIp(`100.64.0.${n}`)!;
const v6 = (n: number) => parseIp(`fd7a:115c:a1e0::${n.toString(16)}`)!;
const TAGS = '"tagOwners": {"tag:a": [], "tag:b": [], "tag:q": []}';

function reach(policyText: string, from: number, to: number, port: number, proto?: number, family: 'v4' | 'v6' = 'v4'): boolean {
  const model = compilePolicy(parsePolicy(policyText), inv);
  const f = family === 'v4' ? v4 : v6;
  return model.grantsFor(f(from), f(to), proto, port).length > 0;
}

function invalidMessage(text: string): string {
  try {
    parsePolicy(text);
  } catch (e) {
    if (e instanceof PolicyInvalidError) return e.message;
    throw e;
  }
  return '(valid)';
}

describe('core model', () => {
  it('allows everything when there is neither an acls nor a grants key (nodeattrs-attr-c1)', () => {
    expect(reach(`{${TAGS}}`, 3, 4, 9999)).toBe(true);
  });
  it('denies everything with "grants": [] (grant-k29) and "acls": []', () => {
    expect(reach(`{${TAGS}, "grants": []}`, 3, 4, 22)).toBe(false);
    expect(reach(`{${TAGS}, "acls": []}`, 3, 4, 22)).toBe(false);
  });
  it('rejects deny actions (acl-err06)', () => {
    expect(invalidMessage('{"acls": [{"action": "deny", "src": ["*"], "dst": ["*:*"]}]}')).toBe('action="deny" is not supported');
  });
  it('unions rules: a narrow rule never restricts a broad one (acl-mr15)', () => {
    const p = `{${TAGS}, "acls": [
      {"action": "accept", "src": ["bob@example.com"], "dst": ["tag:a:22"]},
      {"action": "accept", "src": ["*"], "dst": ["tag:a:*"]}]}`;
    expect(reach(p, 3, 4, 8080)).toBe(true);
  });
  it('is directional', () => {
    const p = `{${TAGS}, "acls": [{"action": "accept", "src": ["bob@example.com"], "dst": ["tag:a:22"]}]}`;
    expect(reach(p, 3, 4, 22)).toBe(true);
    expect(reach(p, 4, 3, 22)).toBe(false);
  });
});

describe('rule shapes', () => {
  it('gives each ACL dst its own ports (acl-au03)', () => {
    const p = `{${TAGS}, "acls": [{"action": "accept", "src": ["bob@example.com"], "dst": ["tag:a:22", "tag:b:5432"]}]}`;
    expect(reach(p, 3, 4, 22)).toBe(true);
    expect(reach(p, 3, 4, 5432)).toBe(false);
    expect(reach(p, 3, 5, 5432)).toBe(true);
  });
  it('opens every grant dst × every ip entry (grant-p02-5)', () => {
    const p = `{${TAGS}, "grants": [{"src": ["bob@example.com"], "dst": ["tag:a", "tag:b"], "ip": ["22", "5432"]}]}`;
    for (const d of [4, 5]) for (const port of [22, 5432]) expect(reach(p, 3, d, port)).toBe(true);
    expect(reach(p, 3, 4, 80)).toBe(false);
  });
  it('reads a bare grant ip number as a port, not a protocol (grant-k22)', () => {
    const p = `{${TAGS}, "grants": [{"src": ["bob@example.com"], "dst": ["tag:a"], "ip": ["47"]}]}`;
    expect(reach(p, 3, 4, 47, 6)).toBe(true);
    expect(reach(p, 3, 4, 1, 47)).toBe(false);
  });
  it('respects proto', () => {
    const p = `{${TAGS}, "acls": [{"action": "accept", "src": ["bob@example.com"], "proto": "udp", "dst": ["tag:a:53"]}]}`;
    expect(reach(p, 3, 4, 53, 17)).toBe(true);
    expect(reach(p, 3, 4, 53, 6)).toBe(false);
  });
  it('opens port ranges and lists inclusively', () => {
    const p = `{${TAGS}, "acls": [{"action": "accept", "src": ["bob@example.com"], "dst": ["tag:a:80-90,443"]}]}`;
    expect([79, 80, 90, 91, 443].map((port) => reach(p, 3, 4, port))).toEqual([false, true, true, false, true]);
  });
  it('gives app-only grants no network access (grant-a1)', () => {
    const p = `{${TAGS}, "grants": [{"src": ["*"], "dst": ["tag:a"], "app": {"example.com/cap/x": [{}]}}]}`;
    expect(reach(p, 3, 4, 443)).toBe(false);
  });
  it.each([
    ['{"tagOwners": {"tag:server": []}, "acls": [{"action": "accept", "src": ["*"], "dst": ["tag:server:ssh"]}]}', 'dst="tag:server:ssh": port range "ssh": invalid first integer'],
    ['{"grants": [{"src": ["*"], "dst": ["*"], "ip": ["icmp"]}]}', 'port range "icmp": invalid first integer'],
    ['{"grants": [{"src": ["*"], "dst": ["*"], "ip": ["tcp:0"]}]}', `port range "0": first port must be >0, or use '*' for wildcard`],
    ['{"grants": [{"src": ["*"], "dst": ["*"]}]}', 'ip and app can not both be empty'],
    ['{"grants": [{"src": ["*"], "dst": ["0.0.0.0/0"], "ip": ["*"]}]}', 'dst "0.0.0.0/0": to allow all IP addresses, use "*" or "autogroup:internet"'],
    ['{"acls": [{"action": "accept", "src": ["tag:x"], "dst": ["*:*"]}]}', 'src=tag not found: "tag:x"'],
    ['{"acls": [{"action": "accept", "src": ["*"], "dst": ["tag:x:22"]}]}', 'dst="tag:x:22": tag not found: "tag:x"'],
    ['{"grants": [{"src": ["tag:x"], "dst": ["*"], "ip": ["*"]}]}', 'tag "tag:x" not found'],
    ['{"groups": {"group:inner": ["a@example.com"], "group:outer": ["group:inner"]}}', 'groups["group:outer"]: "group:inner": group members cannot be recursive'],
    ['{"acls": [{"action": "accept", "src": ["autogroup:self"], "dst": ["*:*"]}]}', '"autogroup:self" not valid on the src side of a rule'],
    ['{"tagOwners": {"tag:a": []}, "acls": [{"action": "accept", "src": ["tag:a"], "dst": ["autogroup:self:*"]}]}', 'autogroup:self can only be used with users, groups, or supported autogroups'],
    ['{"grants": [{"src": ["*"], "dst": ["autogroup:self"], "ip": ["*"]}]}', 'autogroup:self can only be used with users, groups, or supported autogroups'],
    ['{"acls": [{"action": "accept", "src": ["*"], "dst": ["autogroup:danger-all:*"]}]}', 'cannot use autogroup:danger-all as a dst'],
    ['{"acls": [{"action": "accept", "src": ["*"], "dst": ["autogroup:self"]}]}', 'dst="autogroup:self": port range "self": invalid first integer'],
  ])('rejects %s', (text, message) => {
    expect(invalidMessage(text)).toBe(message);
  });
});

describe('identity', () => {
  it('strips user identity from tagged devices (kb/1068, TestTagUserMutualExclusivity)', () => {
    // server-a was registered by alice but is tagged: alice@ and group members do not match it.
    const p = `{${TAGS}, "groups": {"group:x": ["alice@example.com"]}, "acls": [
      {"action": "accept", "src": ["group:x"], "dst": ["bob@example.com:22"]}]}`;
    expect(reach(p, 1, 3, 22)).toBe(true);
    expect(reach(p, 4, 3, 22)).toBe(false);
  });
  it('excludes tagged devices from autogroup:member and includes them in autogroup:tagged', () => {
    const p = `{${TAGS}, "acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:tagged:22"]}]}`;
    expect(reach(p, 3, 4, 22)).toBe(true);
    expect(reach(p, 4, 5, 22)).toBe(false);
  });
  it('resolves autogroup:self to the same user untagged devices only (acl-a04)', () => {
    const p = `{${TAGS}, "acls": [{"action": "accept", "src": ["*"], "dst": ["autogroup:self:*"]}]}`;
    expect(reach(p, 1, 2, 22)).toBe(true);
    expect(reach(p, 1, 3, 22)).toBe(false);
    expect(reach(p, 1, 4, 22)).toBe(false); // tagged devices are never self
    expect(reach(p, 4, 1, 22)).toBe(false);
  });
  it('matches role autogroups from the users list and user:*@domain', () => {
    const p = `{${TAGS}, "acls": [
      {"action": "accept", "src": ["autogroup:admin"], "dst": ["tag:a:1"]},
      {"action": "accept", "src": ["user:*@other.org"], "dst": ["tag:a:2"]}]}`;
    expect(reach(p, 1, 4, 1)).toBe(true);
    expect(reach(p, 3, 4, 1)).toBe(false);
    expect(reach(p, 6, 4, 2)).toBe(true);
    expect(reach(p, 3, 4, 2)).toBe(false);
  });
});

describe('addresses', () => {
  it('lets a host alias of a device IPv4 cover the IPv4 only (policytest-allpass-acls-and-grants-mixed)', () => {
    const p = `{${TAGS}, "hosts": {"a4": "100.64.0.4"}, "acls": [{"action": "accept", "src": ["bob@example.com"], "dst": ["a4:22"]}]}`;
    expect(reach(p, 3, 4, 22, undefined, 'v4')).toBe(true);
    expect(reach(p, 3, 4, 22, undefined, 'v6')).toBe(false);
  });
  it('lets identity selectors cover every address of a device', () => {
    const p = `{${TAGS}, "acls": [{"action": "accept", "src": ["bob@example.com"], "dst": ["tag:a:22"]}]}`;
    expect(reach(p, 3, 4, 22, undefined, 'v6')).toBe(true);
  });
  it('evaluates ipsets with add and remove (kb/1387)', () => {
    const p = `{${TAGS}, "ipsets": {"ipset:most": ["add 100.64.0.0/24", "remove 100.64.0.3"]},
      "acls": [{"action": "accept", "src": ["ipset:most"], "dst": ["tag:a:22"]}]}`;
    expect(reach(p, 1, 4, 22)).toBe(true);
    expect(reach(p, 3, 4, 22)).toBe(false);
    expect(reach(p, 1, 4, 22, undefined, 'v6')).toBe(false);
  });
  it('treats * as a source as the tailnet ranges, not arbitrary IPs (tailscale/tailscale#14117)', () => {
    const text = `{${TAGS}, "hosts": {"outside": "10.10.10.10"}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}],
      "tests": [{"src": "outside", "accept": ["tag:a:22"]}]}`;
    expect(checkPolicy(text, inv).failures).toEqual([{ user: 'outside', errors: ['address "tag:a:22": want: Accept, got: Drop'] }]);
  });
});

describe('postures (Tailscale docs, kb/1288; not covered by the captures)', () => {
  const text = `{${TAGS},
    "postures": {"posture:linux": ["node:os == 'linux'"]},
    "defaultSrcPosture": ["posture:linux"],
    "acls": [
      {"action": "accept", "src": ["autogroup:member"], "dst": ["tag:a:22"]},
      {"action": "accept", "src": ["autogroup:member"], "dst": ["tag:b:22"], "srcPosture": []}]}`;
  it('applies defaultSrcPosture to rules without their own srcPosture', () => {
    expect(reach(text, 6, 4, 22)).toBe(true);
    expect(reach(text, 3, 4, 22)).toBe(false);
    expect(reach(text, 3, 5, 22)).toBe(true);
  });
  it('uses srcPostureAttrs in tests', () => {
    const withTests = text.replace(/}$/, `, "tests": [{"src": "bob@example.com", "srcPostureAttrs": {"node:os": "linux"}, "accept": ["tag:a:22"]}]}`);
    expect(checkPolicy(withTests, inv).failures).toEqual([]);
  });
});
