/** A unified diff of two texts (Myers' O((N+M)·D) line diff) for showing plans to people. */

type Op = { op: ' ' | '-' | '+'; line: string };

/** Myers' shortest edit script; undefined when the texts differ in more than `maxD` lines. */
function myers(a: readonly string[], b: readonly string[], maxD = 4000): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const v = new Int32Array(2 * max + 3);
  const off = max + 1;
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(max, maxD); d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && (v[off + k - 1] as number) < (v[off + k + 1] as number)) ? (v[off + k + 1] as number) : (v[off + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found !== -1) break;
  }
  if (found === -1) return undefined;
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const tv = trace[d] as Int32Array;
    const at = (k: number) => tv[k + d + 1] as number;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      ops.push({ op: ' ', line: a[x] as string });
    }
    if (prevK === k + 1) ops.push({ op: '+', line: b[prevY] as string });
    else ops.push({ op: '-', line: a[prevX] as string });
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    ops.push({ op: ' ', line: a[x] as string });
  }
  return ops.reverse();
}

export function unifiedDiff(a: string, b: string, nameA: string, nameB: string, context = 3): string {
  if (a === b) return '';
  const x = a.split('\n');
  const y = b.split('\n');
  let pre = 0;
  while (pre < x.length && pre < y.length && x[pre] === y[pre]) pre++;
  let suf = 0;
  while (suf < x.length - pre && suf < y.length - pre && x[x.length - 1 - suf] === y[y.length - 1 - suf]) suf++;
  const xm = x.slice(pre, x.length - suf);
  const ym = y.slice(pre, y.length - suf);
  const ops = myers(xm, ym) ?? [...xm.map((line) => ({ op: '-' as const, line })), ...ym.map((line) => ({ op: '+' as const, line }))];
  const all = [...x.slice(0, pre).map((line) => ({ op: ' ' as const, line })), ...ops, ...x.slice(x.length - suf).map((line) => ({ op: ' ' as const, line }))];
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  let k = 0;
  let aLine = 1;
  let bLine = 1;
  while (k < all.length) {
    if ((all[k] as { op: string }).op === ' ') {
      k++;
      aLine++;
      bLine++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // extend the hunk while changes are within 2*context lines of each other
    let lastChange = k;
    while (end < all.length && end - lastChange <= 2 * context) {
      if ((all[end] as { op: string }).op !== ' ') lastChange = end;
      end++;
    }
    end = Math.min(all.length, lastChange + context + 1);
    const back = k - start;
    const hunk = all.slice(start, end);
    const aCount = hunk.filter((h) => h.op !== '+').length;
    const bCount = hunk.filter((h) => h.op !== '-').length;
    out.push(`@@ -${aLine - back},${aCount} +${bLine - back},${bCount} @@`);
    for (const h of hunk) out.push(`${h.op}${h.line}`);
    for (let q = k; q < end; q++) {
      const op = (all[q] as { op: string }).op;
      if (op !== '+') aLine++;
      if (op !== '-') bLine++;
    }
    k = end;
  }
  return `${out.join('\n')}\n`;
}
