/**
 * Protocols, port ranges and "capabilities" (a protocol set × port ranges). A proto-less ACL or a
 * grant `"*"`/bare port means TCP, UDP, ICMPv4 and ICMPv6 (tailcfg.FilterRule semantics); ports
 * only exist for TCP, UDP and SCTP, so every other protocol is normalised to "all ports".
 */

export const PROTO = { icmp: 1, igmp: 2, ipip: 4, tcp: 6, egp: 8, igp: 9, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, sctp: 132 } as const;
export const DEFAULT_PROTOS: readonly number[] = [PROTO.tcp, PROTO.udp, PROTO.icmp, PROTO.icmpv6];

const NAMES: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  ipv4: 4,
  'ip-in-ip': 4,
  tcp: 6,
  egp: 8,
  igp: 9,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  icmpv6: 58,
  sctp: 132,
};
const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 2: 'igmp', 4: 'ipv4', 6: 'tcp', 8: 'egp', 9: 'igp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'ipv6-icmp', 132: 'sctp' };

export function hasPorts(proto: number): boolean {
  return proto === PROTO.tcp || proto === PROTO.udp || proto === PROTO.sctp;
}

/** Protocol name or IANA number (1–255) → number, or undefined. */
export function parseProto(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 && value <= 255 ? value : undefined;
  const lower = value.trim().toLowerCase();
  if (/^\d+$/.test(lower)) return parseProto(Number(lower));
  return NAMES[lower];
}

export function protoName(p: number): string {
  return PROTO_NAMES[p] ?? String(p);
}

export interface PortRange {
  lo: number;
  hi: number;
}
export const ALL_PORTS: PortRange = { lo: 0, hi: 65535 };

/** Parse `*`, `22`, `80-443`, `22,80,443` → ranges; throws a message in the control server's wording. */
export function parsePorts(text: string): PortRange[] {
  if (text === '*') return [ALL_PORTS];
  const out: PortRange[] = [];
  for (const part of text.split(',')) {
    const [a, b, ...rest] = part.split('-');
    if (a === undefined || !/^\d+$/.test(a)) throw new Error(`port range ${JSON.stringify(part)}: invalid first integer`);
    if (rest.length) throw new Error(`port range ${JSON.stringify(part)}: invalid last integer`);
    const lo = Number(a);
    if (b !== undefined && !/^\d+$/.test(b)) throw new Error(`port range ${JSON.stringify(part)}: invalid last integer`);
    const hi = b === undefined ? lo : Number(b);
    if (lo === 0) throw new Error(`port range ${JSON.stringify(part)}: first port must be >0, or use '*' for wildcard`);
    if (lo > 65535 || hi > 65535) throw new Error(`port range ${JSON.stringify(part)}: port out of range`);
    if (hi < lo) throw new Error(`port range ${JSON.stringify(part)}: last port must be >= first port`);
    out.push({ lo, hi });
  }
  return out;
}

/** One allowance: these protocols on these ports. */
export interface Capability {
  protos: readonly number[];
  ports: readonly PortRange[];
}

/** Canonical form of a union of capabilities: proto → sorted disjoint port ranges. */
export type CapabilityUnion = Map<number, PortRange[]>;

export function unionCapabilities(caps: readonly Capability[]): CapabilityUnion {
  const raw = new Map<number, PortRange[]>();
  for (const c of caps)
    for (const p of c.protos) {
      const list = raw.get(p) ?? [];
      if (hasPorts(p)) list.push(...c.ports);
      else list.push(ALL_PORTS);
      raw.set(p, list);
    }
  const out: CapabilityUnion = new Map();
  for (const p of [...raw.keys()].sort((a, b) => a - b)) out.set(p, mergePorts(raw.get(p) ?? []));
  return out;
}

function mergePorts(ranges: PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.hi + 1 >= r.lo) last.hi = Math.max(last.hi, r.hi);
    else out.push({ ...r });
  }
  return out;
}

export function capabilityKey(caps: readonly Capability[]): string {
  return formatCapabilityUnion(unionCapabilities(caps));
}

export function formatPorts(ranges: readonly PortRange[]): string {
  if (ranges.length === 1 && ranges[0]?.lo === 0 && ranges[0].hi === 65535) return '*';
  return ranges.map((r) => (r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`)).join(',');
}

/** e.g. `tcp:22,443 udp:53 icmp:*`. */
export function formatCapabilityUnion(u: CapabilityUnion): string {
  return [...u.entries()].map(([p, r]) => `${protoName(p)}:${formatPorts(r)}`).join(' ');
}

/** What `a` allows that `b` does not. */
export function subtractCapabilityUnion(a: CapabilityUnion, b: CapabilityUnion): CapabilityUnion {
  const out: CapabilityUnion = new Map();
  for (const [p, ranges] of a) {
    const other = b.get(p) ?? [];
    const left: PortRange[] = [];
    for (const r of ranges) {
      let pieces: PortRange[] = [{ ...r }];
      for (const o of other) {
        const next: PortRange[] = [];
        for (const x of pieces) {
          if (o.hi < x.lo || o.lo > x.hi) next.push(x);
          else {
            if (o.lo > x.lo) next.push({ lo: x.lo, hi: o.lo - 1 });
            if (o.hi < x.hi) next.push({ lo: o.hi + 1, hi: x.hi });
          }
        }
        pieces = next;
      }
      left.push(...pieces);
    }
    if (left.length) out.set(p, left);
  }
  return out;
}
