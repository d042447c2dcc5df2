/**
 * IP addresses and address sets. IPv4 and IPv6 are kept apart everywhere: a set is a pair of
 * sorted, disjoint, inclusive range lists (IPv4 as numbers, IPv6 as bigints), so "covers this
 * device's IPv4" never silently implies "covers its IPv6".
 */

export type Family = 'v4' | 'v6';

export interface ParsedIp {
  family: Family;
  /** IPv4 as a number, IPv6 as a bigint. */
  value: number | bigint;
}

const V4_MAX = 0xffffffff;
const V6_MAX = (1n << 128n) - 1n;

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

export function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length < 2) return undefined;
  const dbl = text.indexOf('::');
  if (dbl !== -1 && text.indexOf('::', dbl + 1) !== -1) return undefined;
  const head = dbl === -1 ? text : text.slice(0, dbl);
  const tail = dbl === -1 ? '' : text.slice(dbl + 2);
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const h = toGroups(head);
  const t = toGroups(tail);
  if (!h || !t) return undefined;
  let groups: number[];
  if (dbl === -1) {
    if (h.length !== 8) return undefined;
    groups = h;
  } else {
    const fill = 8 - h.length - t.length;
    if (fill < 1) return undefined;
    groups = [...h, ...new Array<number>(fill).fill(0), ...t];
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

export function parseIp(text: string): ParsedIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 'v4', value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 'v6', value: v6 };
  return undefined;
}

export function formatIpv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** RFC 5952 text form (lower case, longest zero run compressed). */
export function formatIpv6(v: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatIp(ip: ParsedIp): string {
  return ip.family === 'v4' ? formatIpv4(ip.value as number) : formatIpv6(ip.value as bigint);
}

type Range<T> = readonly [T, T];

/** An immutable set of IPv4 and IPv6 addresses. */
export class AddressSet {
  static readonly empty = new AddressSet([], []);

  private constructor(
    readonly v4: readonly Range<number>[],
    readonly v6: readonly Range<bigint>[],
  ) {}

  static of(v4: Range<number>[], v6: Range<bigint>[]): AddressSet {
    return new AddressSet(normalize(v4, 1), normalize(v6, 1n));
  }

  static ip(ip: ParsedIp): AddressSet {
    return ip.family === 'v4'
      ? new AddressSet([[ip.value as number, ip.value as number]], [])
      : new AddressSet([], [[ip.value as bigint, ip.value as bigint]]);
  }

  /** Parse `1.2.3.4`, `1.2.3.0/24`, `fd7a::1`, `fd7a::/48`. Host bits must be zero for CIDRs. */
  static parsePrefix(text: string): AddressSet | undefined {
    const slash = text.indexOf('/');
    if (slash === -1) {
      const ip = parseIp(text);
      return ip ? AddressSet.ip(ip) : undefined;
    }
    const ip = parseIp(text.slice(0, slash));
    const bitsText = text.slice(slash + 1);
    if (!ip || !/^\d{1,3}$/.test(bitsText)) return undefined;
    const bits = Number(bitsText);
    if (ip.family === 'v4') {
      if (bits > 32) return undefined;
      const size = 2 ** (32 - bits);
      const lo = Math.floor((ip.value as number) / size) * size;
      return new AddressSet([[lo, lo + size - 1]], []);
    }
    if (bits > 128) return undefined;
    const size = 1n << BigInt(128 - bits);
    const lo = ((ip.value as bigint) / size) * size;
    return new AddressSet([], [[lo, lo + size - 1n]]);
  }

  isEmpty(): boolean {
    return this.v4.length === 0 && this.v6.length === 0;
  }

  hasV4(v: number): boolean {
    return inRanges(this.v4, v);
  }

  hasV6(v: bigint): boolean {
    return inRanges(this.v6, v);
  }

  has(ip: ParsedIp): boolean {
    return ip.family === 'v4' ? this.hasV4(ip.value as number) : this.hasV6(ip.value as bigint);
  }

  union(other: AddressSet): AddressSet {
    if (other.isEmpty()) return this;
    if (this.isEmpty()) return other;
    return new AddressSet(normalize([...this.v4, ...other.v4], 1), normalize([...this.v6, ...other.v6], 1n));
  }

  subtract(other: AddressSet): AddressSet {
    if (other.isEmpty() || this.isEmpty()) return this;
    return new AddressSet(subtractRanges(this.v4, other.v4, 1), subtractRanges(this.v6, other.v6, 1n));
  }

  equals(other: AddressSet): boolean {
    return sameRanges(this.v4, other.v4) && sameRanges(this.v6, other.v6);
  }

  /** Minimal CIDR list covering exactly this set (IPv4 first). */
  toPrefixes(): string[] {
    const out: string[] = [];
    for (const [lo, hi] of this.v4) splitRange(BigInt(lo), BigInt(hi), 32, (a, bits) => out.push(bits === 32 ? formatIpv4(Number(a)) : `${formatIpv4(Number(a))}/${bits}`));
    for (const [lo, hi] of this.v6) splitRange(lo, hi, 128, (a, bits) => out.push(bits === 128 ? formatIpv6(a) : `${formatIpv6(a)}/${bits}`));
    return out;
  }

  toString(): string {
    return this.toPrefixes().join(', ') || '(none)';
  }
}

function inRanges<T extends number | bigint>(ranges: readonly Range<T>[], v: T): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid] as Range<T>;
    if (v < r[0]) hi = mid - 1;
    else if (v > r[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function normalize<T extends number | bigint>(ranges: readonly Range<T>[], one: T): Range<T>[] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [T, T][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    // Merge overlapping and adjacent ranges (last.hi + 1 >= lo).
    if (last && last[1] >= (((lo as never) - (one as never)) as T)) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

function subtractRanges<T extends number | bigint>(a: readonly Range<T>[], b: readonly Range<T>[], one: T): Range<T>[] {
  const out: Range<T>[] = [];
  for (const [lo0, hi] of a) {
    let lo = lo0;
    let alive = true;
    for (const [blo, bhi] of b) {
      if (bhi < lo || blo > hi) continue;
      if (blo > lo) out.push([lo, ((blo as never) - (one as never)) as T]);
      if (bhi >= hi) {
        alive = false;
        break;
      }
      lo = ((bhi as never) + (one as never)) as T;
    }
    if (alive) out.push([lo, hi]);
  }
  return normalize(out, one);
}

function sameRanges<T>(a: readonly Range<T>[], b: readonly Range<T>[]): boolean {
  return a.length === b.length && a.every((r, i) => r[0] === b[i]?.[0] && r[1] === b[i]?.[1]);
}

function splitRange(lo: bigint, hi: bigint, width: number, emit: (addr: bigint, bits: number) => void): void {
  let cur = lo;
  while (cur <= hi) {
    let size = 1n;
    let bits = width;
    // Grow the block while it stays aligned and inside the range.
    while (bits > 0 && cur % (size * 2n) === 0n && cur + size * 2n - 1n <= hi) {
      size *= 2n;
      bits--;
    }
    emit(cur, bits);
    cur += size;
  }
}

/** Tailscale's own ranges: what `*` means as a source (plus approved subnet routes). */
export const TAILNET_V4 = AddressSet.parsePrefix('100.64.0.0/10')!.subtract(AddressSet.parsePrefix('100.115.92.0/23')!);
export const TAILNET_V6 = AddressSet.parsePrefix('fd7a:115c:a1e0::/48')!;
export const TAILNET_ALL = TAILNET_V4.union(TAILNET_V6);
export const EVERY_ADDRESS = AddressSet.of([[0, V4_MAX]], [[0n, V6_MAX]]);
