/**
 * Blast radius: compare every (source device, destination device, address family) pair's access
 * (as a canonical protocol × port set) before and after an edit. IPv4 and IPv6 are separate
 * pairs, so a rewrite that keeps a device's IPv4 path but drops its IPv6 path shows up as a loss.
 *
 * Cost: rows are computed per distinct "source signature" (the list of rules a source matches)
 * with bitset ORs, then compared word by word; only differing destinations are decoded.
 */
import { formatIp, type Family } from './addresses.js';
import { type Bitset, forEachBit, hasBit, newBitset, orInto, countBits } from './bitset.js';
import type { CompiledPolicy, DeviceEntry } from './evaluator.js';
import { formatCapabilityUnion, subtractCapabilityUnion, unionCapabilities, type Capability, type CapabilityUnion } from './protocols.js';

const FAMILIES: Family[] = ['v4', 'v6'];

export interface AccessChange {
  from: string;
  fromNodeId: string;
  to: string;
  toNodeId: string;
  family: Family;
  fromAddress: string;
  toAddress: string;
  before: string;
  after: string;
  /** What `before` allowed that `after` does not (`''` when nothing). */
  lost: string;
  gained: string;
  /** A port `before` allowed (TCP preferred, 22 or 443 when possible): for pinning tests. */
  samplePort: number | undefined;
}

function samplePort(u: CapabilityUnion): number | undefined {
  for (const proto of [6, 17]) {
    const ranges = u.get(proto);
    if (!ranges?.length) continue;
    for (const p of [22, 443]) if (ranges.some((r) => r.lo <= p && p <= r.hi)) return p;
    return Math.max(1, (ranges[0] as { lo: number }).lo);
  }
  return undefined;
}

export interface BlastRadiusReport {
  devices: number;
  /** (source, destination, family) triples evaluated on each side. */
  pairsEvaluated: number;
  /** Distinct source signatures (sets of matching rules) per side: why this is fast. */
  signatures: { before: number; after: number };
  targets: { nodeId: string; name: string; reachableBefore: number; reachableAfter: number }[];
  /** Pairs not involving a target whose access changed: must be empty for a safe plan. */
  othersChanged: AccessChange[];
  /** Access from a target that changed (after a quarantine: everything it had, lost). */
  fromTargets: AccessChange[];
  /** Access into a target that changed. */
  intoTargets: AccessChange[];
}

type Rows = Map<number, Bitset>;

/** Per-model cache of each source's reachable rows, keyed by its rule signature. */
class RowBuilder {
  private readonly cache = new Map<string, Rows>();
  private readonly ownerBits: Record<Family, Map<string, Bitset>> = { v4: new Map(), v6: new Map() };
  /** Rule indexes whose source side contains device d, per family. */
  private readonly index: Record<Family, number[][]>;

  constructor(readonly model: CompiledPolicy) {
    this.index = { v4: model.devices.map(() => []), v6: model.devices.map(() => []) };
    model.rules.forEach((r, ri) => {
      for (const f of FAMILIES) forEachBit(r.bits[f], (d) => (this.index[f][d] as number[]).push(ri));
    });
    for (const f of FAMILIES)
      for (const [owner, bits] of model.ownerDevices) {
        const b = newBitset(model.size);
        forEachBit(bits, (d) => {
          const e = model.devices[d] as DeviceEntry;
          if ((f === 'v4' ? e.v4 : e.v6) !== undefined) b[d >>> 5] = (b[d >>> 5] as number) | (1 << (d & 31));
        });
        this.ownerBits[f].set(owner, b);
      }
    this.signatureCount = 0;
  }

  signatureCount: number;

  signature(d: DeviceEntry, f: Family): string {
    const rules = this.index[f][d.index] as number[];
    const usesSelf = rules.some((ri) => this.model.rules[ri]?.dsts.some((cd) => cd.self));
    return `${rules.join(',')}|${usesSelf && !d.tagged ? (d.owner ?? '') : ''}`;
  }

  rows(d: DeviceEntry, f: Family, sig: string): Rows {
    const key = `${f}:${sig}`;
    let rows = this.cache.get(key);
    if (rows) return rows;
    rows = new Map();
    for (const ri of this.index[f][d.index] as number[]) {
      const r = this.model.rules[ri];
      if (!r) continue;
      for (const cd of r.dsts) {
        let bits: Bitset | undefined;
        if (cd.self) bits = d.tagged || !d.owner ? undefined : this.ownerBits[f].get(d.owner);
        else bits = cd.bits[f];
        if (!bits) continue;
        let row = rows.get(cd.capsId);
        if (!row) rows.set(cd.capsId, (row = newBitset(this.model.size)));
        orInto(row, bits);
      }
    }
    this.cache.set(key, rows);
    this.signatureCount = this.cache.size;
    return rows;
  }
}

function capsAt(rows: Rows, dst: number): number[] {
  const out: number[] = [];
  for (const [capsId, row] of rows) if (hasBit(row, dst)) out.push(capsId);
  return out.sort((a, b) => a - b);
}

/** Destinations whose set of capability ids differs between two row maps. */
function differingDestinations(a: Rows, b: Rows, size: number): number[] {
  const diff = newBitset(size);
  const empty = newBitset(size);
  for (const id of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(id) ?? empty;
    const y = b.get(id) ?? empty;
    for (let w = 0; w < diff.length; w++) diff[w] = (diff[w] as number) | ((x[w] as number) ^ (y[w] as number));
  }
  const out: number[] = [];
  forEachBit(diff, (i) => {
    if (i < size) out.push(i);
  });
  return out;
}

function label(d: DeviceEntry): string {
  return (d.device.name ?? '').split('.')[0] || d.device.hostname || d.device.nodeId;
}

function addressOf(d: DeviceEntry, f: Family): string {
  return f === 'v4' ? (d.v4 === undefined ? '' : formatIp({ family: 'v4', value: d.v4 })) : d.v6 === undefined ? '' : formatIp({ family: 'v6', value: d.v6 });
}

/**
 * Compare reachability of `before` and `after` (same devices in the same order; the inventory
 * may differ only in tags, e.g. the target retagged). `targets` are device indexes.
 */
export function computeBlastRadius(before: CompiledPolicy, after: CompiledPolicy, targets: readonly number[]): BlastRadiusReport {
  if (before.size !== after.size || before.devices.some((d, i) => d.device.nodeId !== after.devices[i]?.device.nodeId))
    throw new Error('blast radius needs the same devices, in the same order, on both sides');
  if (before.capTable !== after.capTable) throw new Error('blast radius needs both models to share one CapabilityTable');
  const capTable = before.capTable;
  const rb = new RowBuilder(before);
  const ra = new RowBuilder(after);
  const targetSet = new Set(targets);
  const unionCache = new Map<string, CapabilityUnion>();
  const unionOf = (ids: number[]): CapabilityUnion => {
    const key = ids.join(',');
    let u = unionCache.get(key);
    if (!u) unionCache.set(key, (u = unionCapabilities(ids.flatMap((id) => capTable.caps[id] as Capability[]))));
    return u;
  };
  const report: BlastRadiusReport = {
    devices: before.size,
    pairsEvaluated: before.size * before.size * 2,
    signatures: { before: 0, after: 0 },
    targets: targets.map((t) => ({ nodeId: before.devices[t]?.device.nodeId ?? '', name: label(before.devices[t] as DeviceEntry), reachableBefore: 0, reachableAfter: 0 })),
    othersChanged: [],
    fromTargets: [],
    intoTargets: [],
  };
  // Differences depend only on the pair of signatures, so they are computed once per pair.
  const diffCache = new Map<string, { dst: number; before: CapabilityUnion; after: CapabilityUnion }[]>();

  for (const f of FAMILIES) {
    for (const s of before.devices) {
      const sa = after.devices[s.index] as DeviceEntry;
      const sigB = rb.signature(s, f);
      const sigA = ra.signature(sa, f);
      const rowsB = rb.rows(s, f, sigB);
      const rowsA = ra.rows(sa, f, sigA);
      const ti = targets.indexOf(s.index);
      if (ti !== -1) {
        const count = (rows: Rows) => {
          const all = newBitset(before.size);
          for (const r of rows.values()) orInto(all, r);
          return countBits(all);
        };
        const t = report.targets[ti];
        if (t) {
          t.reachableBefore += count(rowsB);
          t.reachableAfter += count(rowsA);
        }
      }
      const key = `${f}|${sigB}|${sigA}`;
      let diffs = diffCache.get(key);
      if (!diffs) {
        diffs = [];
        for (const dst of differingDestinations(rowsB, rowsA, before.size)) {
          const ub = unionOf(capsAt(rowsB, dst));
          const ua = unionOf(capsAt(rowsA, dst));
          if (formatCapabilityUnion(ub) !== formatCapabilityUnion(ua)) diffs.push({ dst, before: ub, after: ua });
        }
        diffCache.set(key, diffs);
      }
      for (const d of diffs) {
        const dd = before.devices[d.dst] as DeviceEntry;
        const change: AccessChange = {
          from: label(s),
          fromNodeId: s.device.nodeId,
          to: label(dd),
          toNodeId: dd.device.nodeId,
          family: f,
          fromAddress: addressOf(s, f),
          toAddress: addressOf(dd, f),
          before: formatCapabilityUnion(d.before),
          after: formatCapabilityUnion(d.after),
          lost: formatCapabilityUnion(subtractCapabilityUnion(d.before, d.after)),
          gained: formatCapabilityUnion(subtractCapabilityUnion(d.after, d.before)),
          samplePort: samplePort(d.before),
        };
        if (targetSet.has(s.index)) report.fromTargets.push(change);
        else if (targetSet.has(d.dst)) report.intoTargets.push(change);
        else report.othersChanged.push(change);
      }
    }
  }
  report.signatures = { before: rb.signatureCount, after: ra.signatureCount };
  return report;
}
