/**
 * `policy reach`: what a source can reach and which rule (with its line) grants it. Pure; the
 * CLI formats the result.
 */
import { UsageError } from '../../core/errors.js';
import { formatIp, parseIp, type Family, type ParsedIp } from './addresses.js';
import { hasBit } from './bitset.js';
import { findDevice, requireDevice } from './device-lookup.js';
import type { CompiledPolicy, DeviceEntry } from './evaluator.js';
import { resolveTestDestination, resolveTestSource } from './policy-tests.js';
import { formatCapabilityUnion, unionCapabilities, PROTO, type Capability } from './protocols.js';
import { splitHostPorts } from './policy-model.js';

export interface RuleRef {
  kind: 'acl' | 'grant';
  index: number;
  line: number;
  dst: string;
}

export interface ReachEntry {
  device: string;
  nodeId: string;
  address: string;
  family: Family;
  /** e.g. `tcp:22,443 udp:53 icmp:*`. */
  access: string;
  rules: RuleRef[];
}

export interface ReachSource {
  address: string;
  device?: string;
  nodeId?: string;
}

export interface ReachReport {
  from: string;
  sources: ReachSource[];
  /** Device destinations, per source address. */
  reachable: (ReachEntry & { from: string })[];
  /** Rules that also open non-device destinations (subnets, host aliases, the internet). */
  otherDestinations: { from: string; dst: string; rules: RuleRef[] }[];
}

export interface ReachCheck {
  from: string;
  to: string;
  allowed: boolean;
  pairs: { from: string; to: string; tcp: RuleRef[]; udp: RuleRef[] }[];
}

function deviceLabel(d: DeviceEntry): string {
  return (d.device.name ?? '').split('.')[0] || d.device.hostname;
}

function ipsOf(d: DeviceEntry): ParsedIp[] {
  const out: ParsedIp[] = [];
  if (d.v4 !== undefined) out.push({ family: 'v4', value: d.v4 });
  if (d.v6 !== undefined) out.push({ family: 'v6', value: d.v6 });
  return out;
}

/** A source named as a device, an IP, or an identity (user, group, tag, host alias). */
export function resolveSource(model: CompiledPolicy, from: string): ParsedIp[] {
  const dev = findDevice(model.inventory.devices, from);
  if (dev) {
    const entry = model.devices.find((d) => d.device === dev);
    if (entry) return ipsOf(entry);
  }
  const ip = parseIp(from);
  if (ip) return [ip];
  if (/^(group|tag|autogroup):|@/.test(from) || model.policy.hosts.has(from)) {
    const r = resolveTestSource(model, from);
    if (typeof r === 'string') throw new UsageError(`--from ${JSON.stringify(from)}: ${r}`);
    return r;
  }
  requireDevice(model.inventory.devices, from);
  return [];
}

function sourceInfo(model: CompiledPolicy, ip: ParsedIp): ReachSource {
  const d = model.deviceAt(ip);
  return { address: formatIp(ip), ...(d ? { device: deviceLabel(d), nodeId: d.device.nodeId } : {}) };
}

export function reachFrom(model: CompiledPolicy, from: string): ReachReport {
  const ips = resolveSource(model, from);
  const report: ReachReport = { from, sources: ips.map((ip) => sourceInfo(model, ip)), reachable: [], otherDestinations: [] };
  for (const ip of ips) {
    const sdev = model.deviceAt(ip);
    const perDevice = new Map<number, { caps: Capability[]; rules: RuleRef[] }>();
    const other = new Map<string, RuleRef[]>();
    for (const r of model.rulesMatchingSource(ip)) {
      for (const cd of r.dsts) {
        const ref: RuleRef = { kind: r.rule.kind, index: r.rule.index, line: r.rule.line, dst: cd.dst.text };
        for (const d of model.devices) {
          const hit = cd.self
            ? sdev !== undefined && !sdev.tagged && !d.tagged && sdev.owner === d.owner && (ip.family === 'v4' ? d.v4 !== undefined : d.v6 !== undefined)
            : hasBit(cd.bits[ip.family], d.index);
          if (!hit) continue;
          const acc = perDevice.get(d.index) ?? { caps: [], rules: [] };
          acc.caps.push(...cd.dst.caps);
          acc.rules.push(ref);
          perDevice.set(d.index, acc);
        }
        if (!cd.self && !cd.sel.addrs.isEmpty()) {
          const list = other.get(cd.dst.text) ?? [];
          list.push(ref);
          other.set(cd.dst.text, list);
        }
      }
    }
    const fromText = formatIp(ip);
    for (const [index, acc] of [...perDevice.entries()].sort((a, b) => a[0] - b[0])) {
      const d = model.devices[index] as DeviceEntry;
      const addr = ip.family === 'v4' ? { family: 'v4' as const, value: d.v4 as number } : { family: 'v6' as const, value: d.v6 as bigint };
      report.reachable.push({ from: fromText, device: deviceLabel(d), nodeId: d.device.nodeId, address: formatIp(addr), family: ip.family, access: formatCapabilityUnion(unionCapabilities(acc.caps)), rules: acc.rules });
    }
    for (const [dst, rules] of other) report.otherDestinations.push({ from: fromText, dst, rules });
  }
  return report;
}

/** Can `from` reach `to` (`HOST:PORT`; host = device, tag, host alias or IP) over TCP or UDP? */
export function reachCheck(model: CompiledPolicy, from: string, to: string): ReachCheck {
  const ips = resolveSource(model, from);
  const split = splitHostPorts(to);
  if (!split || !/^\d+$/.test(split.ports)) throw new UsageError(`--to ${JSON.stringify(to)}: expected HOST:PORT with a single numeric port`);
  let dsts: ParsedIp[];
  const dev = findDevice(model.inventory.devices, split.host);
  if (dev) dsts = ipsOf(model.devices.find((d) => d.device === dev) as DeviceEntry);
  else {
    const r = resolveTestDestination(model, to);
    if (typeof r === 'string') {
      if (!/^(tag:)/.test(split.host) && !model.policy.hosts.has(split.host) && !parseIp(split.host)) requireDevice(model.inventory.devices, split.host);
      throw new UsageError(`--to: ${r}`);
    }
    dsts = r.ips;
  }
  const port = Number(split.ports);
  const pairs: ReachCheck['pairs'] = [];
  for (const s of ips)
    for (const d of dsts) {
      if (s.family !== d.family) continue;
      pairs.push({
        from: formatIp(s),
        to: formatIp(d),
        tcp: model.grantsFor(s, d, PROTO.tcp, port).map((g) => ({ ...g })),
        udp: model.grantsFor(s, d, PROTO.udp, port).map((g) => ({ ...g })),
      });
    }
  return { from, to, allowed: pairs.some((p) => p.tcp.length > 0 || p.udp.length > 0), pairs };
}
