/**
 * The policy file as a validated model: rules with their line numbers, selectors parsed into
 * aliases, ports into capabilities. Validation errors use the control server's wording
 * (reference policy-semantics.md §2–§5) so the simulated tailnet can return them verbatim.
 */
import { getNodeValue, findNodeAtLocation, type Node } from 'jsonc-parser';
import { AddressSet, EVERY_ADDRESS, TAILNET_ALL } from './addresses.js';
import { PolicyInvalidError } from './errors.js';
import { parseHujson, positionAt, type HujsonDocument } from './hujson.js';
import { parsePostureCondition, type PostureCondition } from './posture.js';
import { DEFAULT_PROTOS, parsePorts, parseProto, ALL_PORTS, type Capability } from './protocols.js';

export const ROLE_AUTOGROUPS = ['admin', 'owner', 'it-admin', 'network-admin', 'billing-admin', 'auditor', 'member-role'] as const;
const AUTOGROUPS = new Set(['member', 'members', 'tagged', 'self', 'internet', 'shared', 'danger-all', 'admin', 'owner', 'it-admin', 'network-admin', 'billing-admin', 'auditor']);

export type Alias =
  | { kind: 'all' }
  | { kind: 'user'; login: string }
  | { kind: 'userDomain'; domain: string }
  | { kind: 'group'; name: string; members: readonly string[] }
  | { kind: 'tag'; name: string }
  | { kind: 'autogroup'; name: string }
  | { kind: 'host'; name: string; addrs: AddressSet }
  | { kind: 'ipset'; name: string; addrs: AddressSet }
  | { kind: 'prefix'; addrs: AddressSet }
  | { kind: 'service'; name: string };

export interface RuleDestination {
  /** The dst entry as written (`tag:db:5432` for ACLs, `tag:db` for grants). */
  text: string;
  alias: Alias;
  aliasText: string;
  caps: Capability[];
}

export interface NetworkRule {
  kind: 'acl' | 'grant';
  /** Index in its `acls` / `grants` array. */
  index: number;
  line: number;
  srcTexts: string[];
  src: Alias[];
  dst: RuleDestination[];
  /** Effective posture names (the rule's own srcPosture, else defaultSrcPosture). */
  posture: string[] | undefined;
  via: string[] | undefined;
  node: Node;
}

export interface SshRule {
  index: number;
  line: number;
  action: 'accept' | 'check';
  src: Alias[];
  dst: Alias[];
  users: string[];
  posture: string[] | undefined;
}

export interface Policy {
  doc: HujsonDocument;
  value: Record<string, unknown>;
  /** No `acls` and no `grants` key at all: Tailscale allows everything. */
  allowAll: boolean;
  rules: NetworkRule[];
  ssh: SshRule[];
  groups: Map<string, string[]>;
  hosts: Map<string, AddressSet>;
  tagOwners: Map<string, string[]>;
  ipsets: Map<string, AddressSet>;
  postures: Map<string, PostureCondition[]>;
  defaultSrcPosture: string[] | undefined;
  tests: unknown[];
  sshTests: unknown[];
  /** Things the evaluator does not model exactly; the quarantine planner refuses on these. */
  unsupported: string[];
}

const KNOWN_KEYS = new Set([
  'acls', 'grants', 'ssh', 'groups', 'hosts', 'tagOwners', 'autoApprovers', 'nodeAttrs', 'postures',
  'defaultSrcPosture', 'ipsets', 'tests', 'sshTests', 'attrConfig', 'derpMap', 'disableIPv4', 'OneCGNATRoute',
  'randomizeClientPort', 'auditLogs',
]);

/** Public internet as headscale computes it: everything but Tailscale, private and link-local ranges. */
const INTERNET = (() => {
  let s = EVERY_ADDRESS.subtract(TAILNET_ALL);
  for (const p of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fe80::/10', 'fc00::/7', '127.0.0.0/8', '::1'])
    s = s.subtract(AddressSet.parsePrefix(p) as AddressSet);
  return s;
})();

function invalid(message: string): never {
  throw new PolicyInvalidError(message);
}

function asStringArray(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) invalid(`${what}: expected an array of strings`);
  return v as string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface AliasContext {
  side: 'src' | 'dst';
  kind: 'acl' | 'grant' | 'ssh';
  /** For ACL dst, the whole `alias:ports` entry (error wording quotes it). */
  entry?: string;
}

function notFound(ctx: AliasContext, what: string, name: string): never {
  if (ctx.kind === 'grant') invalid(`${what} ${JSON.stringify(name)} not found`);
  if (ctx.side === 'dst') invalid(`dst=${JSON.stringify(ctx.entry ?? name)}: ${what} not found: ${JSON.stringify(name)}`);
  invalid(`src=${what} not found: ${JSON.stringify(name)}`);
}

export class PolicyModelBuilder {
  readonly groups = new Map<string, string[]>();
  readonly hosts = new Map<string, AddressSet>();
  readonly tagOwners = new Map<string, string[]>();
  readonly ipsets = new Map<string, AddressSet>();
  readonly unsupported: string[] = [];

  /** Parse one selector. */
  alias(text: string, ctx: AliasContext): Alias {
    if (text === '*') return { kind: 'all' };
    if (text.startsWith('autogroup:')) {
      const name = text.slice('autogroup:'.length);
      if (!AUTOGROUPS.has(name)) invalid(`${ctx.side}=${JSON.stringify(text)}: unknown autogroup`);
      if (name === 'self' && ctx.side === 'src') invalid(`"autogroup:self" not valid on the src side of a rule`);
      if (name === 'internet' && ctx.side === 'src') invalid(`"autogroup:internet" not valid on the src side of a rule`);
      if (name === 'danger-all' && ctx.side === 'dst') invalid('cannot use autogroup:danger-all as a dst');
      if (name === 'shared' && ctx.side === 'dst') invalid(`"autogroup:shared" not valid on the dst side of a rule`);
      return { kind: 'autogroup', name: name === 'members' ? 'member' : name };
    }
    if (text.startsWith('group:')) {
      const members = this.groups.get(text);
      if (!members) notFound(ctx, 'group', text);
      return { kind: 'group', name: text, members };
    }
    if (text.startsWith('tag:')) {
      if (!this.tagOwners.has(text)) notFound(ctx, 'tag', text);
      return { kind: 'tag', name: text };
    }
    if (text.startsWith('ipset:')) {
      const addrs = this.ipsets.get(text);
      if (!addrs) notFound(ctx, 'ipset', text);
      return { kind: 'ipset', name: text, addrs };
    }
    if (text.startsWith('svc:')) {
      this.unsupported.push(`service selector ${JSON.stringify(text)} (Tailscale Services are not evaluated)`);
      return { kind: 'service', name: text };
    }
    if (text.startsWith('user:*@')) return { kind: 'userDomain', domain: text.slice('user:*@'.length).toLowerCase() };
    if (text.includes('@')) return { kind: 'user', login: text.toLowerCase() };
    const host = this.hosts.get(text);
    if (host) return { kind: 'host', name: text, addrs: host };
    const addrs = AddressSet.parsePrefix(text);
    if (addrs) {
      if (ctx.kind === 'grant' && ctx.side === 'dst' && (text === '0.0.0.0/0' || text === '::/0'))
        invalid(`dst ${JSON.stringify(text)}: to allow all IP addresses, use "*" or "autogroup:internet"`);
      return { kind: 'prefix', addrs };
    }
    return notFound(ctx, 'host', text);
  }

  /** Address-only selectors allowed inside `hosts`/`ipsets`. */
  addressSelector(text: string, where: string, resolving: Set<string>, raw: Record<string, unknown>): AddressSet {
    if (text === 'autogroup:internet') return INTERNET;
    if (text.startsWith('ipset:')) {
      if (resolving.has(text)) invalid(`${where}: ${JSON.stringify(text)}: ipsets cannot be circular`);
      return this.resolveIpset(text, resolving, raw);
    }
    const host = this.hosts.get(text);
    if (host) return host;
    const addrs = AddressSet.parsePrefix(text);
    if (!addrs) invalid(`${where}: ${JSON.stringify(text)}: ipsets may only contain IPs, CIDRs, hosts, other ipsets and autogroup:internet`);
    return addrs;
  }

  resolveIpset(name: string, resolving: Set<string>, raw: Record<string, unknown>): AddressSet {
    const done = this.ipsets.get(name);
    if (done) return done;
    const entries = raw[name];
    if (entries === undefined) invalid(`ipset ${JSON.stringify(name)} not found`);
    const list = asStringArray(entries, `ipsets[${JSON.stringify(name)}]`);
    resolving.add(name);
    let add = AddressSet.empty;
    let remove = AddressSet.empty;
    for (const e of list) {
      const m = /^\s*(add|remove)\s+(\S+)\s*$/.exec(e);
      if (!m) invalid(`ipsets[${JSON.stringify(name)}]: ${JSON.stringify(e)}: each entry must be "add <target>" or "remove <target>"`);
      const set = this.addressSelector(m[2] as string, `ipsets[${JSON.stringify(name)}]`, resolving, raw);
      if (m[1] === 'add') add = add.union(set);
      else remove = remove.union(set);
    }
    resolving.delete(name);
    // Removals win regardless of order (we never rely on order: our own ipsets list adds first).
    const result = add.subtract(remove);
    this.ipsets.set(name, result);
    return result;
  }
}

function parseGrantIp(entry: string): Capability {
  if (entry === '*') return { protos: DEFAULT_PROTOS, ports: [ALL_PORTS] };
  const colon = entry.indexOf(':');
  if (colon === -1) {
    // A bare number or range is a port on the default protocols, not a protocol number (grant-k22).
    return { protos: DEFAULT_PROTOS, ports: parsePorts(entry) };
  }
  const protoText = entry.slice(0, colon);
  const portText = entry.slice(colon + 1);
  const proto = parseProto(protoText);
  if (proto === undefined) throw new Error(`ip=${JSON.stringify(entry)}: unknown protocol ${JSON.stringify(protoText)}`);
  return { protos: [proto], ports: parsePorts(portText) };
}

/** Split `host:ports`; IPv6 hosts may be bracketed (`[fd7a::1]:22`) or bare (`fd7a::1:22`). */
export function splitHostPorts(entry: string): { host: string; ports: string } | undefined {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']:');
    if (close === -1) return undefined;
    return { host: entry.slice(1, close), ports: entry.slice(close + 2) };
  }
  const colon = entry.lastIndexOf(':');
  if (colon === -1) return undefined;
  return { host: entry.slice(0, colon), ports: entry.slice(colon + 1) };
}

function lineOf(doc: HujsonDocument, node: Node | undefined): number {
  return node ? positionAt(doc.lineStarts, node.offset).line : 0;
}

/** Parse and validate a policy (HuJSON or JSON). Throws PolicyInvalidError with Tailscale's wording. */
export function parsePolicy(text: string): Policy {
  const doc = parseHujson(text);
  const value = getNodeValue(doc.root) as Record<string, unknown>;
  const b = new PolicyModelBuilder();

  for (const key of Object.keys(value)) if (!KNOWN_KEYS.has(key)) b.unsupported.push(`unknown top-level key ${JSON.stringify(key)}`);

  // groups (members must be users: groups cannot contain groups)
  const groups = value.groups ?? {};
  if (!isObject(groups)) invalid('groups: expected an object');
  for (const [name, members] of Object.entries(groups)) {
    if (!name.startsWith('group:')) invalid(`groups[${JSON.stringify(name)}]: group names must start with "group:"`);
    const list = asStringArray(members, `groups[${JSON.stringify(name)}]`);
    for (const m of list) {
      if (m.startsWith('group:')) invalid(`groups[${JSON.stringify(name)}]: ${JSON.stringify(m)}: group members cannot be recursive`);
      if (!m.includes('@') && !m.startsWith('autogroup:')) invalid(`groups[${JSON.stringify(name)}]: ${JSON.stringify(m)}: group members must be users`);
    }
    b.groups.set(name, list.map((m) => m.toLowerCase()));
  }

  const tagOwners = value.tagOwners ?? {};
  if (!isObject(tagOwners)) invalid('tagOwners: expected an object');
  for (const [tag, owners] of Object.entries(tagOwners)) {
    if (!/^tag:[A-Za-z0-9][A-Za-z0-9_-]*$/.test(tag)) invalid(`tagOwners[${JSON.stringify(tag)}]: invalid tag name`);
    b.tagOwners.set(tag, asStringArray(owners, `tagOwners[${JSON.stringify(tag)}]`));
  }

  const hosts = value.hosts ?? {};
  if (!isObject(hosts)) invalid('hosts: expected an object');
  for (const [name, addr] of Object.entries(hosts)) {
    if (typeof addr !== 'string') invalid(`hosts[${JSON.stringify(name)}]: expected a string`);
    const set = AddressSet.parsePrefix(addr);
    if (!set) invalid(`hosts[${JSON.stringify(name)}]: ${JSON.stringify(addr)}: not an IP address or CIDR`);
    b.hosts.set(name, set);
  }

  const ipsets = value.ipsets ?? {};
  if (!isObject(ipsets)) invalid('ipsets: expected an object');
  for (const name of Object.keys(ipsets)) {
    if (!name.startsWith('ipset:')) invalid(`ipsets[${JSON.stringify(name)}]: ipset names must start with "ipset:"`);
    b.resolveIpset(name, new Set(), ipsets);
  }

  const postures = new Map<string, PostureCondition[]>();
  const posturesRaw = value.postures ?? {};
  if (!isObject(posturesRaw)) invalid('postures: expected an object');
  for (const [name, conds] of Object.entries(posturesRaw)) {
    if (!name.startsWith('posture:')) invalid(`postures[${JSON.stringify(name)}]: posture names must start with "posture:"`);
    try {
      postures.set(name, asStringArray(conds, `postures[${JSON.stringify(name)}]`).map(parsePostureCondition));
    } catch (e) {
      if (e instanceof PolicyInvalidError) throw e;
      invalid(`postures[${JSON.stringify(name)}]: ${(e as Error).message}`);
    }
  }
  const checkPostures = (list: string[], where: string): string[] => {
    for (const p of list) if (!postures.has(p)) invalid(`${where}: posture ${JSON.stringify(p)} not found`);
    return list;
  };
  const defaultSrcPosture = value.defaultSrcPosture === undefined ? undefined : checkPostures(asStringArray(value.defaultSrcPosture, 'defaultSrcPosture'), 'defaultSrcPosture');

  const rules: NetworkRule[] = [];
  const aclNode = findNodeAtLocation(doc.root, ['acls']);
  const grantNode = findNodeAtLocation(doc.root, ['grants']);
  const allowAll = value.acls === undefined && value.grants === undefined;

  if (value.acls !== undefined) {
    if (!Array.isArray(value.acls)) invalid('acls: expected an array');
    value.acls.forEach((raw, index) => {
      const node = aclNode?.children?.[index] as Node;
      if (!isObject(raw)) invalid(`acls[${index}]: expected an object`);
      const action = raw.action;
      if (action !== 'accept') invalid(`action=${JSON.stringify(action ?? '')} is not supported`);
      const srcTexts = asStringArray(raw.src ?? raw.users, 'src');
      const dstTexts = asStringArray(raw.dst ?? raw.ports, 'dst');
      let protos: readonly number[] = DEFAULT_PROTOS;
      if (raw.proto !== undefined && raw.proto !== '') {
        const p = parseProto(raw.proto as string | number);
        if (p === undefined) invalid(`proto=${JSON.stringify(raw.proto)}: unknown protocol`);
        protos = [p];
      }
      const src = srcTexts.map((t) => b.alias(t, { side: 'src', kind: 'acl' }));
      const dst: RuleDestination[] = dstTexts.map((entry) => {
        const split = splitHostPorts(entry);
        if (!split) invalid(`dst=${JSON.stringify(entry)}: port range ${JSON.stringify(entry.replace(/^.*:/, ''))}: invalid first integer`);
        let ports;
        try {
          ports = parsePorts(split.ports);
        } catch (e) {
          invalid(`dst=${JSON.stringify(entry)}: ${(e as Error).message}`);
        }
        const alias = b.alias(split.host, { side: 'dst', kind: 'acl', entry });
        return { text: entry, alias, aliasText: split.host, caps: [{ protos, ports }] };
      });
      checkSelf(src, dst, 'acl');
      const own = raw.srcPosture === undefined ? undefined : checkPostures(asStringArray(raw.srcPosture, 'srcPosture'), `acls[${index}]`);
      rules.push({ kind: 'acl', index, line: lineOf(doc, node), srcTexts, src, dst, posture: own ?? defaultSrcPosture, via: undefined, node });
    });
  }

  if (value.grants !== undefined) {
    if (!Array.isArray(value.grants)) invalid('grants: expected an array');
    value.grants.forEach((raw, index) => {
      const node = grantNode?.children?.[index] as Node;
      if (!isObject(raw)) invalid(`grants[${index}]: expected an object`);
      const ipList = asStringArray(raw.ip, 'ip');
      if (ipList.length === 0 && raw.app === undefined) invalid('ip and app can not both be empty');
      const srcTexts = asStringArray(raw.src, 'src');
      const dstTexts = asStringArray(raw.dst, 'dst');
      const src = srcTexts.map((t) => b.alias(t, { side: 'src', kind: 'grant' }));
      let caps: Capability[];
      try {
        caps = ipList.map(parseGrantIp);
      } catch (e) {
        invalid((e as Error).message);
      }
      // Every dst × every ip entry is opened (grant-p02-5); app-only grants open no network access.
      const dst: RuleDestination[] = dstTexts.map((t) => ({ text: t, alias: b.alias(t, { side: 'dst', kind: 'grant' }), aliasText: t, caps }));
      checkSelf(src, dst, 'grant');
      const via = raw.via === undefined ? undefined : asStringArray(raw.via, 'via');
      if (via) b.unsupported.push(`grant at line ${lineOf(doc, node)} uses "via" (route-specific access is not evaluated)`);
      const own = raw.srcPosture === undefined ? undefined : checkPostures(asStringArray(raw.srcPosture, 'srcPosture'), `grants[${index}]`);
      if (caps.length > 0)
        rules.push({ kind: 'grant', index, line: lineOf(doc, node), srcTexts, src, dst, posture: own ?? defaultSrcPosture, via, node });
    });
  }

  const ssh: SshRule[] = [];
  const sshNode = findNodeAtLocation(doc.root, ['ssh']);
  if (value.ssh !== undefined) {
    if (!Array.isArray(value.ssh)) invalid('ssh: expected an array');
    value.ssh.forEach((raw, index) => {
      if (!isObject(raw)) invalid(`ssh[${index}]: expected an object`);
      const action = raw.action;
      if (action !== 'accept' && action !== 'check') invalid(`ssh[${index}]: action=${JSON.stringify(action ?? '')} is not supported`);
      const src = asStringArray(raw.src, 'src').map((t) => b.alias(t, { side: 'src', kind: 'ssh' }));
      const dst = asStringArray(raw.dst, 'dst').map((t) => b.alias(t, { side: 'dst', kind: 'ssh' }));
      const own = raw.srcPosture === undefined ? undefined : checkPostures(asStringArray(raw.srcPosture, 'srcPosture'), `ssh[${index}]`);
      ssh.push({ index, line: lineOf(doc, sshNode?.children?.[index]), action, src, dst, users: asStringArray(raw.users, 'users'), posture: own ?? defaultSrcPosture });
    });
  }

  const tests = value.tests ?? [];
  if (!Array.isArray(tests)) invalid('tests: expected an array');
  const sshTests = value.sshTests ?? [];
  if (!Array.isArray(sshTests)) invalid('sshTests: expected an array');

  return {
    doc,
    value,
    allowAll,
    rules,
    ssh,
    groups: b.groups,
    hosts: b.hosts,
    tagOwners: b.tagOwners,
    ipsets: b.ipsets,
    postures,
    defaultSrcPosture,
    tests,
    sshTests,
    unsupported: b.unsupported,
  };
}

function checkSelf(src: Alias[], dst: RuleDestination[], kind: 'acl' | 'grant'): void {
  if (!dst.some((d) => d.alias.kind === 'autogroup' && d.alias.name === 'self')) return;
  for (const s of src) {
    const ok =
      s.kind === 'user' ||
      s.kind === 'group' ||
      s.kind === 'userDomain' ||
      (s.kind === 'autogroup' && (s.name === 'member' || ROLE_AUTOGROUPS.includes(s.name as never))) ||
      (s.kind === 'all' && kind === 'acl');
    if (!ok) invalid('autogroup:self can only be used with users, groups, or supported autogroups');
  }
}
