/**
 * Device posture conditions (`postures`, `srcPosture`, `defaultSrcPosture`). A posture holds when
 * all its conditions hold; a rule's posture list is satisfied when any listed posture holds.
 * Operators `==`, `!=`, `IN`, `NOT IN`, `<`, `<=`, `>`, `>=`, `IS SET`, `NOT SET`. A missing
 * attribute fails every condition except `NOT SET` (Tailscale docs; see reference §9.6).
 */

export type PostureValue = string | number | boolean;
export type PostureAttrs = Readonly<Record<string, PostureValue>>;

export interface PostureCondition {
  text: string;
  attr: string;
  op: '==' | '!=' | 'IN' | 'NOT IN' | '<' | '<=' | '>' | '>=' | 'IS SET' | 'NOT SET';
  values: PostureValue[];
}

function parseLiteral(text: string): PostureValue | undefined {
  const t = text.trim();
  if (/^'[^']*'$/.test(t) || /^"[^"]*"$/.test(t)) return t.slice(1, -1);
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return undefined;
}

/** Parse one condition; throws with a message naming the condition when it is not understood. */
export function parsePostureCondition(text: string): PostureCondition {
  const m = /^\s*([A-Za-z0-9_:.-]+)\s+(IS SET|NOT SET|NOT IN|IN|==|!=|<=|>=|<|>)\s*(.*?)\s*$/.exec(text);
  if (!m) throw new Error(`invalid posture condition ${JSON.stringify(text)}`);
  const attr = m[1] as string;
  const op = m[2] as PostureCondition['op'];
  const rest = m[3] ?? '';
  if (op === 'IS SET' || op === 'NOT SET') {
    if (rest !== '') throw new Error(`invalid posture condition ${JSON.stringify(text)}`);
    return { text, attr, op, values: [] };
  }
  if (op === 'IN' || op === 'NOT IN') {
    const list = /^\[(.*)\]$/.exec(rest);
    if (!list) throw new Error(`invalid posture condition ${JSON.stringify(text)}: ${op} needs a [list]`);
    const values = (list[1] ?? '')
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => parseLiteral(s));
    if (values.some((v) => v === undefined)) throw new Error(`invalid posture condition ${JSON.stringify(text)}`);
    return { text, attr, op, values: values as PostureValue[] };
  }
  const v = parseLiteral(rest);
  if (v === undefined) throw new Error(`invalid posture condition ${JSON.stringify(text)}`);
  return { text, attr, op, values: [v] };
}

/** Compare numbers numerically and dotted versions (`1.40.2`) segment by segment. */
function compare(a: PostureValue, b: PostureValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a).replace(/^v/, '').split(/[.-]/);
  const sb = String(b).replace(/^v/, '').split(/[.-]/);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const x = sa[i] ?? '0';
    const y = sb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const d = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (d !== 0) return d;
  }
  return 0;
}

function same(a: PostureValue, b: PostureValue): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

export function conditionHolds(c: PostureCondition, attrs: PostureAttrs | undefined): boolean {
  const has = attrs !== undefined && Object.prototype.hasOwnProperty.call(attrs, c.attr);
  if (c.op === 'NOT SET') return !has;
  if (!has) return false;
  const v = (attrs as PostureAttrs)[c.attr] as PostureValue;
  const want = c.values[0] as PostureValue;
  switch (c.op) {
    case 'IS SET':
      return true;
    case '==':
      return same(v, want);
    case '!=':
      return !same(v, want);
    case 'IN':
      return c.values.some((x) => same(v, x));
    case 'NOT IN':
      return !c.values.some((x) => same(v, x));
    case '<':
      return compare(v, want) < 0;
    case '<=':
      return compare(v, want) <= 0;
    case '>':
      return compare(v, want) > 0;
    case '>=':
      return compare(v, want) >= 0;
  }
}
