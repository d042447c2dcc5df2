/**
 * Blast radius: compare every (source device, destination device, address family) pair's access
 * (as a canonical protocol × port set) before and after an edit. IPv4 and IPv6 are separate
 * pairs, so a rewrite that keeps a device's IPv4 path but drops its IPv6 path shows up as a loss.
 *
 * Cost: rows are computed per distinct "source signature" (the list of rules a source matches)
 * with bitset ORs, then compared word by word; only differing destinations are decoded.
 */
import { formatIp, type Family } from './addresses.js';
import { type Bitset, bitsetEquals, forEachBit, newBitset, orInto, countBits } from './bitset.js';
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

/**
 * Rules whose source side covers exactly the same devices form one "source set"; its rows (the
 * OR of its rules' destinations, per capability) are computed once. A device's reachability is
 * then the OR over the few source sets it belongs to, and devices in the same sets (same
 * "signature") share one result.
 */
interface SourceSet {
  bits: Bitset;
  rows: Rows;
  /** Capabilities granted to autogroup:self (owner-dependent, resolved per source). */
  selfCaps: number[];
}

function hashBits(b: Bitset): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193) >>> 0;
  return h;
}

/** Per-model cache of each source's reachable rows, keyed by its source-set signature. */
class RowBuilder {
  private readonly ownerBits: Record<Family, Map<string, Bitset>> = { v4: new Map(), v6: new Map() };
  private readonly sets: Record<Family, SourceSet[]> = { v4: [], v6: [] };
  /** Source-set ids containing device d, per family. */
  private readonly index: Record<Family, number[][]>;

  constructor(readonly model: CompiledPolicy) {
    this.index = { v4: model.devices.map(() => []), v6: model.devices.map(() => []) };
    for (const f of FAMILIES) {
      const byHash = new Map<number, number[]>();
      for (const r of model.rules) {
        const h = hashBits(r.bits[f]);
        const candidates = byHash.get(h) ?? [];
        let id = candidates.find((c) => bitsetEquals((this.sets[f][c] as SourceSet).bits, r.bits[f]));
        if (id === undefined) {
          id = this.sets[f].length;
          this.sets[f].push({ bits: r.bits[f], rows: new Map(), selfCaps: [] });
          byHash.set(h, [...candidates, id]);
        }
        const set = this.sets[f][id] as SourceSet;
        for (const cd of r.dsts) {
          if (cd.self) {
            if (!set.selfCaps.includes(cd.capsId)) set.selfCaps.push(cd.capsId);
            continue;
          }
          let row = set.rows.get(cd.capsId);
          if (!row) set.rows.set(cd.capsId, (row = newBitset(model.size)));
          orInto(row, cd.bits[f]);
        }
      }
      this.sets[f].forEach((set, id) => forEachBit(set.bits, (d) => (this.index[f][d] as number[]).push(id)));
      for (const [owner, bits] of model.ownerDevices) {
        const b = newBitset(model.size);
        forEachBit(bits, (d) => {
          const e = model.devices[d] as DeviceEntry;
          if ((f === 'v4' ? e.v4 : e.v6) !== undefined) b[d >>> 5] = (b[d >>> 5] as number) | (1 << (d & 31));
        });
        this.ownerBits[f].set(owner, b);
      }
    }
  }

  get signatureCount(): number {
    return this.seen.size;
  }

  signature(d: DeviceEntry, f: Family): string {
    const ids = this.index[f][d.index] as number[];
    const usesSelf = ids.some((id) => (this.sets[f][id] as SourceSet).selfCaps.length > 0);
    return `${ids.join(',')}|${usesSelf && !d.tagged ? (d.owner ?? '') : ''}`;
  }

  /**
   * OR the device's reachability into `buf` (one `words`-sized slot per capability id) and
   * record which slots were touched. No allocation: this runs once per source and family.
   */
  fill(d: DeviceEntry, f: Family, buf: Uint32Array, touched: number[], mark: Uint8Array, words: number): void {
    const add = (capsId: number, bits: Bitset) => {
      if (!mark[capsId]) {
        mark[capsId] = 1;
        touched.push(capsId);
      }
      const base = capsId * words;
      for (let i = 0; i < words; i++) buf[base + i] = (buf[base + i] as number) | (bits[i] as number);
    };
    for (const id of this.index[f][d.index] as number[]) {
      const set = this.sets[f][id] as SourceSet;
      for (const [capsId, bits] of set.rows) add(capsId, bits);
      if (set.selfCaps.length && !d.tagged && d.owner) {
        const own = this.ownerBits[f].get(d.owner);
        if (own) for (const capsId of set.selfCaps) add(capsId, own);
      }
    }
    this.seen.add(`${f}:${this.signature(d, f)}`);
  }

  readonly seen = new Set<string>();
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
  const words = (before.size + 31) >>> 5;
  const K = capTable.caps.length;
  const bufB = new Uint32Array(K * words);
  const bufA = new Uint32Array(K * words);
  const markB = new Uint8Array(K);
  const markA = new Uint8Array(K);
  const touchedB: number[] = [];
  const touchedA: number[] = [];
  const diff = newBitset(before.size);
  const reset = (buf: Uint32Array, mark: Uint8Array, touched: number[]) => {
    for (const c of touched) {
      buf.fill(0, c * words, (c + 1) * words);
      mark[c] = 0;
    }
    touched.length = 0;
  };
  const capsAt = (buf: Uint32Array, touched: number[], dst: number): number[] =>
    touched.filter((c) => (((buf[c * words + (dst >>> 5)] as number) >>> (dst & 31)) & 1) === 1).sort((a, b) => a - b);
  const countAll = (buf: Uint32Array, touched: number[]): number => {
    const all = newBitset(before.size);
    for (const c of touched) for (let i = 0; i < words; i++) all[i] = (all[i] as number) | (buf[c * words + i] as number);
    return countBits(all);
  };

  for (const f of FAMILIES) {
    for (const s of before.devices) {
      const sa = after.devices[s.index] as DeviceEntry;
      const key = `${f}|${rb.signature(s, f)}|${ra.signature(sa, f)}`;
      const ti = targets.indexOf(s.index);
      let diffs = diffCache.get(key);
      if (!diffs || ti !== -1) {
        rb.fill(s, f, bufB, touchedB, markB, words);
        ra.fill(sa, f, bufA, touchedA, markA, words);
        const t = ti === -1 ? undefined : report.targets[ti];
        if (t) {
          t.reachableBefore += countAll(bufB, touchedB);
          t.reachableAfter += countAll(bufA, touchedA);
        }
        if (!diffs) {
          diffs = [];
          diff.fill(0);
          for (const c of new Set([...touchedB, ...touchedA])) {
            const base = c * words;
            for (let i = 0; i < words; i++) diff[i] = (diff[i] as number) | ((bufB[base + i] as number) ^ (bufA[base + i] as number));
          }
          const found = diffs;
          forEachBit(diff, (dst) => {
            if (dst >= before.size) return;
            const ub = unionOf(capsAt(bufB, touchedB, dst));
            const ua = unionOf(capsAt(bufA, touchedA, dst));
            if (formatCapabilityUnion(ub) !== formatCapabilityUnion(ua)) found.push({ dst, before: ub, after: ua });
          });
          diffCache.set(key, diffs);
        }
        reset(bufB, markB, touchedB);
        reset(bufA, markA, touchedA);
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
