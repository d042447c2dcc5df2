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
  /** Same id ⇔ same rows and self capabilities, across both sides of a comparison. */
  contentId: number;
}

/**
 * Gives source sets with identical content (rows per capability, self capabilities) the same
 * id on both sides, so a device built from the same content before and after provably has the
 * same access without decoding it.
 */
class SetContents {
  private readonly byHash = new Map<number, { rows: Rows; selfCaps: number[]; id: number }[]>();
  private next = 0;

  idFor(rows: Rows, selfCaps: number[]): number {
    const caps = [...rows.keys()].sort((a, b) => a - b);
    const self = [...selfCaps].sort((a, b) => a - b);
    let h = 0x811c9dc5;
    for (const c of caps) h = Math.imul(h ^ hashBits(rows.get(c) as Bitset) ^ c, 0x01000193) >>> 0;
    for (const c of self) h = Math.imul(h ^ (c + 0x9e3779b9), 0x01000193) >>> 0;
    const list = this.byHash.get(h) ?? [];
    const same = list.find(
      (e) =>
        e.rows.size === rows.size &&
        e.selfCaps.length === self.length &&
        e.selfCaps.every((c, i) => c === self[i]) &&
        caps.every((c) => {
          const other = e.rows.get(c);
          return other !== undefined && bitsetEquals(other, rows.get(c) as Bitset);
        }),
    );
    if (same) return same.id;
    const id = this.next++;
    list.push({ rows, selfCaps: self, id });
    this.byHash.set(h, list);
    return id;
  }
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

  constructor(
    readonly model: CompiledPolicy,
    contents: SetContents,
  ) {
    this.index = { v4: model.devices.map(() => []), v6: model.devices.map(() => []) };
    for (const f of FAMILIES) {
      const byHash = new Map<number, number[]>();
      for (const r of model.rules) {
        const h = hashBits(r.bits[f]);
        const candidates = byHash.get(h) ?? [];
        let id = candidates.find((c) => bitsetEquals((this.sets[f][c] as SourceSet).bits, r.bits[f]));
        if (id === undefined) {
          id = this.sets[f].length;
          this.sets[f].push({ bits: r.bits[f], rows: new Map(), selfCaps: [], contentId: -1 });
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
      for (const set of this.sets[f]) set.contentId = contents.idFor(set.rows, set.selfCaps);
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

  /** What a source's access is built from: its source sets' content ids, plus its owner if autogroup:self applies. */
  signature(d: DeviceEntry, f: Family): string {
    const sets = (this.index[f][d.index] as number[]).map((id) => this.sets[f][id] as SourceSet);
    const ids = [...new Set(sets.map((x) => x.contentId))].sort((a, b) => a - b);
    const usesSelf = sets.some((x) => x.selfCaps.length > 0);
    return `${ids.join(',')}|${usesSelf && !d.tagged ? (d.owner ?? '') : ''}`;
  }

  ownerDevices(f: Family, owner: string): Bitset | undefined {
    return this.ownerBits[f].get(owner);
  }

  /**
   * OR the device's reachability into `buf` (one `words`-sized slot per capability id) and
   * record which slots were touched. No allocation: this runs once per source and family.
   */
  fill(d: DeviceEntry, f: Family, buf: Uint32Array, touched: number[], mark: Uint8Array, words: number, only?: (set: SourceSet) => boolean): void {
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
      if (only && !only(set)) continue;
      for (const [capsId, bits] of set.rows) add(capsId, bits);
      if (set.selfCaps.length && !d.tagged && d.owner) {
        const own = this.ownerBits[f].get(d.owner);
        if (own) for (const capsId of set.selfCaps) add(capsId, own);
      }
    }
  }

  readonly seen = new Set<string>();

  setsOf(d: DeviceEntry, f: Family): SourceSet[] {
    return (this.index[f][d.index] as number[]).map((id) => this.sets[f][id] as SourceSet);
  }

  /** Capability ids that reach `dst` from source `d` (computed from its sets, no buffers). */
  capsTo(d: DeviceEntry, f: Family, dst: number): number[] {
    const out = new Set<number>();
    const bit = (b: Bitset) => (((b[dst >>> 5] as number) >>> (dst & 31)) & 1) === 1;
    const own = !d.tagged && d.owner ? this.ownerBits[f].get(d.owner) : undefined;
    for (const set of this.setsOf(d, f)) {
      for (const [capsId, row] of set.rows) if (bit(row)) out.add(capsId);
      if (own && bit(own)) for (const c of set.selfCaps) out.add(c);
    }
    return [...out].sort((a, b) => a - b);
  }
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
  const contents = new SetContents();
  const rb = new RowBuilder(before, contents);
  const ra = new RowBuilder(after, contents);
  // autogroup:self rows depend on the owner's devices, which a retag changes.
  const ownerSame = new Map<string, boolean>();
  const sameOwnerDevices = (f: Family, owner: string): boolean => {
    const k = `${f}|${owner}`;
    let v = ownerSame.get(k);
    if (v === undefined) {
      const x = rb.ownerDevices(f, owner);
      const y = ra.ownerDevices(f, owner);
      v = x === undefined || y === undefined ? x === y : bitsetEquals(x, y);
      ownerSame.set(k, v);
    }
    return v;
  };
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
  const countAll = (buf: Uint32Array, touched: number[]): number => {
    const all = newBitset(before.size);
    for (const c of touched) for (let i = 0; i < words; i++) all[i] = (all[i] as number) | (buf[c * words + i] as number);
    return countBits(all);
  };

  for (const f of FAMILIES) {
    for (const s of before.devices) {
      const sa = after.devices[s.index] as DeviceEntry;
      const sigB = rb.signature(s, f);
      const sigA = ra.signature(sa, f);
      rb.seen.add(`${f}:${sigB}`);
      ra.seen.add(`${f}:${sigA}`);
      const key = `${f}|${sigB}|${sigA}`;
      const ti = targets.indexOf(s.index);
      // Built from the same content on both sides (and, for autogroup:self, the same owner
      // devices): the access is identical, nothing to decode.
      const owner = sigB.slice(sigB.indexOf('|') + 1);
      if (ti === -1 && sigB === sigA && (owner === '' || sameOwnerDevices(f, owner))) continue;
      if (ti !== -1) {
        const t = report.targets[ti];
        rb.fill(s, f, bufB, touchedB, markB, words);
        ra.fill(sa, f, bufA, touchedA, markA, words);
        if (t) {
          t.reachableBefore += countAll(bufB, touchedB);
          t.reachableAfter += countAll(bufA, touchedA);
        }
        reset(bufB, markB, touchedB);
        reset(bufA, markA, touchedA);
      }
      let diffs = diffCache.get(key);
      if (!diffs) {
        // Access = OR of the source's sets' rows. Sets with the same content on both sides
        // contribute equally, so only destinations where the OR of the *differing* sets'
        // rows differs can change; those few are decoded exactly.
        const selfDiffers = owner !== '' && !sameOwnerDevices(f, owner);
        const idsA = new Set(ra.setsOf(sa, f).map((x) => x.contentId));
        const idsB = new Set(rb.setsOf(s, f).map((x) => x.contentId));
        const differing = (other: Set<number>) => (set: SourceSet) => !other.has(set.contentId) || (selfDiffers && set.selfCaps.length > 0);
        rb.fill(s, f, bufB, touchedB, markB, words, differing(idsA));
        ra.fill(sa, f, bufA, touchedA, markA, words, differing(idsB));
        diffs = [];
        diff.fill(0);
        const xorSlot = (c: number) => {
          const base = c * words;
          for (let i = 0; i < words; i++) diff[i] = (diff[i] as number) | ((bufB[base + i] as number) ^ (bufA[base + i] as number));
        };
        for (const c of touchedB) xorSlot(c);
        for (const c of touchedA) if (!markB[c]) xorSlot(c);
        const found = diffs;
        forEachBit(diff, (dst) => {
          if (dst >= before.size) return;
          const ub = unionOf(rb.capsTo(s, f, dst));
          const ua = unionOf(ra.capsTo(sa, f, dst));
          if (formatCapabilityUnion(ub) !== formatCapabilityUnion(ua)) found.push({ dst, before: ub, after: ua });
        });
        diffCache.set(key, diffs);
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
