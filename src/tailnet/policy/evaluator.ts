/**
 * Reachability evaluator: a policy compiled against an inventory. Every rule's source and every
 * destination entry is resolved once into per-family device bitsets, so answering "what can S
 * reach" is a few bitset ORs rather than a walk over rules × devices.
 *
 * Semantics (reference policy-semantics.md): allow-only, union of all rules, default deny (no
 * `acls` and no `grants` key = allow all); tagged devices have no user identity; identity
 * selectors cover every address of a device, address literals only the addresses they name.
 */
import type { Device, User } from '../types.js';
import { AddressSet, EVERY_ADDRESS, TAILNET_ALL, formatIp, parseIp, type Family, type ParsedIp } from './addresses.js';
import { type Bitset, hasBit, newBitset, orInto, setBit } from './bitset.js';
import type { Alias, NetworkRule, Policy, RuleDestination } from './policy-model.js';
import { conditionHolds, type PostureAttrs } from './posture.js';
import { capabilityKey, DEFAULT_PROTOS, ALL_PORTS, type Capability } from './protocols.js';

export interface Inventory {
  devices: Device[];
  users: User[];
}

export interface DeviceEntry {
  index: number;
  device: Device;
  v4: number | undefined;
  v6: bigint | undefined;
  tagged: boolean;
  /** Owner login (lower case) for untagged devices; undefined for tagged ones. */
  owner: string | undefined;
  attrs: PostureAttrs | undefined;
}

/** Interns capability lists so "same access" is an integer comparison, shared across models. */
export class CapabilityTable {
  private readonly byKey = new Map<string, number>();
  readonly caps: Capability[][] = [];
  readonly keys: string[] = [];
  id(caps: Capability[]): number {
    const key = capabilityKey(caps);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.caps.length;
      this.byKey.set(key, id);
      this.caps.push(caps);
      this.keys.push(key);
    }
    return id;
  }
}

interface ResolvedSelector {
  devs: Bitset;
  addrs: AddressSet;
}

export interface CompiledDestination {
  dst: RuleDestination;
  capsId: number;
  self: boolean;
  sel: ResolvedSelector;
  bits: Record<Family, Bitset>;
}

export interface CompiledRule {
  rule: NetworkRule;
  sel: ResolvedSelector;
  /** Source devices per family (posture already applied). */
  bits: Record<Family, Bitset>;
  dsts: CompiledDestination[];
}

export interface Grant {
  kind: 'acl' | 'grant';
  /** -1 for the implicit allow-all of a policy without `acls` and `grants`. */
  index: number;
  line: number;
  /** The dst entry that matched. */
  dst: string;
}

export class CompiledPolicy {
  readonly devices: DeviceEntry[];
  readonly rules: CompiledRule[] = [];
  readonly byAddress = new Map<string, DeviceEntry>();
  readonly byName = new Map<string, DeviceEntry>();
  readonly users: Map<string, User>;
  /** Untagged devices per owner login. */
  readonly ownerDevices = new Map<string, Bitset>();
  /** Devices per tag they carry. */
  private readonly tagDevices = new Map<string, Bitset>();
  /** Devices that have an IPv4 / IPv6 address. */
  private readonly familyMask: Record<Family, Bitset>;
  readonly size: number;

  constructor(
    readonly policy: Policy,
    readonly inventory: Inventory,
    readonly capTable: CapabilityTable = new CapabilityTable(),
  ) {
    this.users = new Map(inventory.users.map((u) => [u.loginName.toLowerCase(), u]));
    this.devices = inventory.devices.map((device, index) => {
      let v4: number | undefined;
      let v6: bigint | undefined;
      for (const a of device.addresses ?? []) {
        const ip = parseIp(a);
        if (ip?.family === 'v4' && v4 === undefined) v4 = ip.value as number;
        if (ip?.family === 'v6' && v6 === undefined) v6 = ip.value as bigint;
      }
      const tagged = (device.tags ?? []).length > 0;
      return { index, device, v4, v6, tagged, owner: tagged ? undefined : device.user?.toLowerCase(), attrs: device.postureAttributes };
    });
    this.size = this.devices.length;
    this.familyMask = { v4: newBitset(this.size), v6: newBitset(this.size) };
    for (const d of this.devices) {
      if (d.v4 !== undefined) {
        this.byAddress.set(formatIp({ family: 'v4', value: d.v4 }), d);
        setBit(this.familyMask.v4, d.index);
      }
      if (d.v6 !== undefined) {
        this.byAddress.set(formatIp({ family: 'v6', value: d.v6 }), d);
        setBit(this.familyMask.v6, d.index);
      }
      for (const t of d.device.tags ?? []) {
        let b = this.tagDevices.get(t);
        if (!b) this.tagDevices.set(t, (b = newBitset(this.size)));
        setBit(b, d.index);
      }
      if (d.owner) {
        let b = this.ownerDevices.get(d.owner);
        if (!b) this.ownerDevices.set(d.owner, (b = newBitset(this.size)));
        setBit(b, d.index);
      }
    }
    // No `acls` and no `grants` key: every node gets the wildcard rule (capture nodeattrs-attr-c1).
    const rules = policy.allowAll ? [ALLOW_ALL_RULE] : policy.rules;
    for (const rule of rules) this.rules.push(this.compileRule(rule));
  }

  /** Approved subnet routes (exit routes excluded): part of what `*` means as a source. */
  private subnetRoutes(): AddressSet {
    let s = AddressSet.empty;
    for (const d of this.devices)
      for (const r of d.device.enabledRoutes ?? []) {
        if (r === '0.0.0.0/0' || r === '::/0') continue;
        const p = AddressSet.parsePrefix(r);
        if (p) s = s.union(p);
      }
    return s;
  }

  private allSources: AddressSet | undefined;

  resolve(alias: Alias, side: 'src' | 'dst'): ResolvedSelector {
    const devs = newBitset(this.size);
    let addrs = AddressSet.empty;
    const pick = (pred: (d: DeviceEntry) => boolean): void => {
      for (const d of this.devices) if (pred(d)) setBit(devs, d.index);
    };
    switch (alias.kind) {
      case 'all':
        addrs = side === 'src' ? (this.allSources ??= TAILNET_ALL.union(this.subnetRoutes())) : EVERY_ADDRESS;
        break;
      // Users, groups and tags come from the indexes built once per model (one pass over devices).
      case 'user':
        orIfPresent(devs, this.ownerDevices.get(alias.login));
        break;
      case 'userDomain':
        pick((d) => d.owner !== undefined && d.owner.endsWith(`@${alias.domain}`));
        break;
      case 'group':
        for (const m of new Set(alias.members)) orIfPresent(devs, this.ownerDevices.get(m));
        break;
      case 'tag':
        orIfPresent(devs, this.tagDevices.get(alias.name));
        break;
      case 'autogroup':
        switch (alias.name) {
          case 'member':
            pick((d) => !d.tagged && !d.device.isExternal && this.users.get(d.owner ?? '')?.type !== 'shared');
            break;
          case 'tagged':
            pick((d) => d.tagged);
            break;
          case 'shared':
            pick((d) => !d.tagged && (d.device.isExternal === true || this.users.get(d.owner ?? '')?.type === 'shared'));
            break;
          case 'danger-all':
            addrs = EVERY_ADDRESS;
            break;
          case 'self':
          case 'internet':
            break; // self is per-source; internet is never a tailnet device.
          default:
            pick((d) => !d.tagged && this.users.get(d.owner ?? '')?.role === alias.name);
        }
        break;
      case 'host':
      case 'ipset':
      case 'prefix':
        addrs = alias.addrs;
        break;
      case 'service':
        break;
    }
    return { devs, addrs };
  }

  /** `resolve`, memoised per model: the planner asks about the same few hundred selectors thousands of times. */
  selector(alias: Alias, side: 'src' | 'dst'): ResolvedSelector {
    return this.aliasBits(alias, side).sel;
  }

  /** Does device d, on family f, fall under a resolved selector? */
  covers(sel: ResolvedSelector, d: DeviceEntry, f: Family): boolean {
    if (f === 'v4') return d.v4 !== undefined && (hasBit(sel.devs, d.index) || sel.addrs.hasV4(d.v4));
    return d.v6 !== undefined && (hasBit(sel.devs, d.index) || sel.addrs.hasV6(d.v6));
  }

  postureHolds(names: string[] | undefined, attrs: PostureAttrs | undefined): boolean {
    if (!names || names.length === 0) return true;
    return names.some((n) => (this.policy.postures.get(n) ?? []).every((c) => conditionHolds(c, attrs)));
  }

  private readonly aliasCache = new Map<string, { sel: ResolvedSelector; bits: Record<Family, Bitset> }>();
  private readonly postureMasks = new Map<string, Bitset>();

  /** Resolve once per distinct selector: rules share groups, tags and `*` heavily. */
  private aliasBits(alias: Alias, side: 'src' | 'dst'): { sel: ResolvedSelector; bits: Record<Family, Bitset> } {
    const key = `${side}|${aliasKey(alias)}`;
    let hit = this.aliasCache.get(key);
    if (hit) return hit;
    const sel = this.resolve(alias, side);
    const bits = { v4: newBitset(this.size), v6: newBitset(this.size) };
    // Identity: the selected devices that have an address of the family (word by word).
    for (let w = 0; w < bits.v4.length; w++) {
      const ident = sel.devs[w] as number;
      bits.v4[w] = ident & (this.familyMask.v4[w] as number);
      bits.v6[w] = ident & (this.familyMask.v6[w] as number);
    }
    // Addresses (`*`, CIDRs, hosts, ipsets): device by device.
    if (!sel.addrs.isEmpty())
      for (const d of this.devices) {
        if (d.v4 !== undefined && sel.addrs.hasV4(d.v4)) setBit(bits.v4, d.index);
        if (d.v6 !== undefined && sel.addrs.hasV6(d.v6)) setBit(bits.v6, d.index);
      }
    hit = { sel, bits };
    this.aliasCache.set(key, hit);
    return hit;
  }

  private postureMask(names: string[]): Bitset {
    const key = names.join('\u0000');
    let mask = this.postureMasks.get(key);
    if (!mask) {
      mask = newBitset(this.size);
      for (const d of this.devices) if (this.postureHolds(names, d.attrs)) setBit(mask, d.index);
      this.postureMasks.set(key, mask);
    }
    return mask;
  }

  private compileRule(rule: NetworkRule): CompiledRule {
    const devs = newBitset(this.size);
    let addrs = AddressSet.empty;
    const bits = { v4: newBitset(this.size), v6: newBitset(this.size) };
    for (const a of rule.src) {
      const r = this.aliasBits(a, 'src');
      orInto(devs, r.sel.devs);
      addrs = addrs.union(r.sel.addrs);
      orInto(bits.v4, r.bits.v4);
      orInto(bits.v6, r.bits.v6);
    }
    if (rule.posture && rule.posture.length) {
      const mask = this.postureMask(rule.posture);
      for (let i = 0; i < mask.length; i++) {
        bits.v4[i] = (bits.v4[i] as number) & (mask[i] as number);
        bits.v6[i] = (bits.v6[i] as number) & (mask[i] as number);
      }
    }
    const dsts = rule.dst.map((dst): CompiledDestination => {
      const self = dst.alias.kind === 'autogroup' && dst.alias.name === 'self';
      const r = self ? { sel: { devs: newBitset(this.size), addrs: AddressSet.empty }, bits: { v4: newBitset(this.size), v6: newBitset(this.size) } } : this.aliasBits(dst.alias, 'dst');
      return { dst, capsId: this.capTable.id(dst.caps), self, sel: r.sel, bits: r.bits };
    });
    return { rule, sel: { devs, addrs }, bits, dsts };
  }

  // ---- address-level queries (tests, `policy reach`) ----

  deviceAt(ip: ParsedIp): DeviceEntry | undefined {
    return this.byAddress.get(formatIp(ip));
  }

  private matchesSource(r: CompiledRule, ip: ParsedIp, dev: DeviceEntry | undefined, attrs: PostureAttrs | undefined): boolean {
    const byIdentity = dev !== undefined && hasBit(r.sel.devs, dev.index);
    if (!byIdentity && !r.sel.addrs.has(ip)) return false;
    return this.postureHolds(r.rule.posture, attrs);
  }

  private matchesDestination(cd: CompiledDestination, src: DeviceEntry | undefined, ip: ParsedIp, dev: DeviceEntry | undefined): boolean {
    if (cd.self) return src !== undefined && dev !== undefined && !src.tagged && !dev.tagged && src.owner === dev.owner;
    return (dev !== undefined && hasBit(cd.sel.devs, dev.index)) || cd.sel.addrs.has(ip);
  }

  /**
   * Which rules let source address `src` open `proto`/`port` to address `dst`? Empty = denied.
   * `proto` undefined means "any default protocol" (the `tests` view). ICMP answers the policy
   * view: a `proto: tcp` rule does not allow ping here (policy-semantics.md §8.2).
   */
  grantsFor(src: ParsedIp, dst: ParsedIp, proto: number | undefined, port: number, srcAttrs?: PostureAttrs, options: { reference?: boolean } = {}): Grant[] {
    if (src.family !== dst.family) return [];
    const sdev = this.deviceAt(src);
    const ddev = this.deviceAt(dst);
    const attrs = srcAttrs ?? sdev?.attrs;
    const out: Grant[] = [];
    // Device addresses with their own posture: the precomputed bitsets answer directly.
    // `reference` forces the selector-by-selector path (tests use it as an independent oracle).
    const fastSrc = !options.reference && sdev !== undefined && srcAttrs === undefined;
    const fastDst = !options.reference && ddev !== undefined;
    const f = src.family;
    for (const r of this.rules) {
      if (fastSrc ? !hasBit(r.bits[f], (sdev as DeviceEntry).index) : !this.matchesSource(r, src, sdev, attrs)) continue;
      for (const cd of r.dsts) {
        if (fastDst && !cd.self ? !hasBit(cd.bits[f], (ddev as DeviceEntry).index) : !this.matchesDestination(cd, sdev, dst, ddev)) continue;
        if (!capsAllow(cd.dst.caps, proto, port)) continue;
        out.push({ kind: r.rule.kind, index: r.rule.index, line: r.rule.line, dst: cd.dst.text });
      }
    }
    return out;
  }

  /**
   * Rules whose source selectors cover this address, ignoring posture: a compromised node
   * controls the posture its client reports, so a quarantine must not rely on posture.
   */
  rulesCoveringSource(src: ParsedIp): CompiledRule[] {
    const dev = this.deviceAt(src);
    return this.rules.filter((r) => (dev !== undefined && hasBit(r.sel.devs, dev.index)) || r.sel.addrs.has(src));
  }

  /** Rules whose source side matches this address (posture applied). */
  rulesMatchingSource(src: ParsedIp, srcAttrs?: PostureAttrs): CompiledRule[] {
    const dev = this.deviceAt(src);
    return this.rules.filter((r) => this.matchesSource(r, src, dev, srcAttrs ?? dev?.attrs));
  }
}

function capsAllow(caps: readonly Capability[], proto: number | undefined, port: number): boolean {
  return caps.some((c) => {
    // Without a proto, tests ask about TCP-or-UDP access (reference tailscale-api.md §3).
    const protos = proto === undefined ? c.protos.filter((p) => p === 6 || p === 17) : c.protos.filter((p) => p === proto);
    if (protos.length === 0) return false;
    if (protos.every((p) => p !== 6 && p !== 17 && p !== 132)) return true;
    return c.ports.some((r) => r.lo <= port && port <= r.hi);
  });
}

function orIfPresent(target: Bitset, src: Bitset | undefined): void {
  if (src) orInto(target, src);
}

function aliasKey(a: Alias): string {
  switch (a.kind) {
    case 'all':
      return '*';
    case 'user':
      return `u:${a.login}`;
    case 'userDomain':
      return `d:${a.domain}`;
    case 'group':
      return `g:${a.name}`;
    case 'tag':
      return `t:${a.name}`;
    case 'autogroup':
      return `a:${a.name}`;
    case 'host':
      return `h:${a.name}`;
    case 'ipset':
      return `i:${a.name}`;
    case 'service':
      return `s:${a.name}`;
    case 'prefix':
      return `p:${a.addrs.toString()}`;
  }
}

export const ALL_CAPS: Capability[] = [{ protos: DEFAULT_PROTOS, ports: [ALL_PORTS] }];

const ALLOW_ALL_RULE: NetworkRule = {
  kind: 'acl',
  index: -1,
  line: 0,
  srcTexts: ['*'],
  src: [{ kind: 'all' }],
  dst: [{ text: '*:*', alias: { kind: 'all' }, aliasText: '*', caps: ALL_CAPS }],
  posture: undefined,
  via: undefined,
  node: { type: 'null', offset: 0, length: 0 },
};

export function compilePolicy(policy: Policy, inventory: Inventory, capTable?: CapabilityTable): CompiledPolicy {
  return new CompiledPolicy(policy, inventory, capTable);
}
