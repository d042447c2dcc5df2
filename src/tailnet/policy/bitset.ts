/** Fixed-size bitsets over device indexes (Uint32Array words): the evaluator's hot data. */
export type Bitset = Uint32Array;

export function newBitset(size: number): Bitset {
  return new Uint32Array((size + 31) >>> 5);
}
export function setBit(b: Bitset, i: number): void {
  b[i >>> 5] = (b[i >>> 5] as number) | (1 << (i & 31));
}
export function hasBit(b: Bitset, i: number): boolean {
  return (((b[i >>> 5] as number) >>> (i & 31)) & 1) === 1;
}
export function orInto(target: Bitset, src: Bitset): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) | (src[i] as number);
}
export function bitsetEquals(a: Bitset, b: Bitset): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
export function countBits(b: Bitset): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    let v = b[i] as number;
    v = v - ((v >>> 1) & 0x55555555);
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    n += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return n;
}
/** Calls fn for every set bit, in increasing order. */
export function forEachBit(b: Bitset, fn: (i: number) => void): void {
  for (let w = 0; w < b.length; w++) {
    let v = b[w] as number;
    while (v !== 0) {
      const t = v & -v;
      fn((w << 5) + (31 - Math.clz32(t)));
      v ^= t;
    }
  }
}
