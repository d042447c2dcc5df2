/** A small unified diff (line LCS between the common prefix and suffix) for showing plans. */
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
  // ops over the middle: ' ' keep, '-' delete, '+' insert
  const ops: { op: ' ' | '-' | '+'; line: string }[] = [];
  if (xm.length * ym.length <= 4_000_000) {
    const n = xm.length;
    const m = ym.length;
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        (lcs[i] as Uint32Array)[j] = xm[i] === ym[j] ? ((lcs[i + 1] as Uint32Array)[j + 1] as number) + 1 : Math.max((lcs[i + 1] as Uint32Array)[j] as number, (lcs[i] as Uint32Array)[j + 1] as number);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && xm[i] === ym[j]) {
        ops.push({ op: ' ', line: xm[i] as string });
        i++;
        j++;
      } else if (j < m && (i >= n || ((lcs[i] as Uint32Array)[j + 1] as number) >= ((lcs[i + 1] as Uint32Array)[j] as number))) ops.push({ op: '+', line: ym[j++] as string });
      else ops.push({ op: '-', line: xm[i++] as string });
    }
  } else {
    for (const l of xm) ops.push({ op: '-', line: l });
    for (const l of ym) ops.push({ op: '+', line: l });
  }
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
