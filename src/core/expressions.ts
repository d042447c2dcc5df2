/**
 * The two tiny languages inside playbooks, parsed (never eval'd):
 *  - references `inputs.<name>…` and `steps.<id>.output…`, used in params as "${…}";
 *  - `when` guards: references and literals combined with == != && || ! and parentheses.
 */

export interface Reference {
  root: 'inputs' | 'steps';
  /** For inputs: the input name. For steps: the step id. */
  name: string;
  /** Path below the input, or below `steps.<id>.output`. */
  path: string[];
  text: string;
}

export interface ExpressionScope {
  inputs: Readonly<Record<string, unknown>>;
  /** Outputs of completed steps; a skipped step has no entry. */
  outputs: Readonly<Record<string, unknown>>;
}

export class ExpressionError extends Error {}

const segment = /^[A-Za-z0-9_-]+$/;

export function parseReference(text: string): Reference {
  const parts = text.split('.');
  const [root, name, ...rest] = parts;
  if ((root !== 'inputs' && root !== 'steps') || !name || !parts.every((p) => segment.test(p)))
    throw new ExpressionError(`bad reference ${JSON.stringify(text)}: use inputs.<name>… or steps.<id>.output…`);
  if (root === 'steps') {
    if (rest[0] !== 'output')
      throw new ExpressionError(`bad reference ${JSON.stringify(text)}: a step is read as steps.<id>.output…`);
    return { root, name, path: rest.slice(1), text };
  }
  return { root, name, path: rest, text };
}

/** Value of a reference, or undefined when any part of it is missing. */
export function readReference(ref: Reference, scope: ExpressionScope): unknown {
  let value: unknown = ref.root === 'inputs' ? scope.inputs[ref.name] : scope.outputs[ref.name];
  for (const key of ref.path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

// ---- params templating ------------------------------------------------------------------

const placeholder = /\$\{([^}]*)\}/g;

/** `a ?? b`: alternatives inside one placeholder; the first present, non-empty one is used. */
function parseAlternatives(inner: string): Reference[] {
  return inner.split('??').map((part) => parseReference(part.trim()));
}

/** Every reference used in a params tree (for validation). */
export function paramReferences(value: unknown): Reference[] {
  const out: Reference[] = [];
  walkStrings(value, (s) => {
    for (const m of s.matchAll(placeholder)) out.push(...parseAlternatives(m[1] ?? ''));
  });
  return out;
}

/**
 * Replace references in params. A string that is exactly one "${ref}" becomes the referenced
 * value with its type; references embedded in longer strings are stringified.
 */
export function resolveParams(value: unknown, scope: ExpressionScope): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([^}]*)\}$/.exec(value);
    if (whole) return mustRead(parseAlternatives(whole[1] ?? ''), scope);
    return value.replace(placeholder, (_m, inner: string) => {
      const v = mustRead(parseAlternatives(inner), scope);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveParams(v, scope));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveParams(v, scope)]));
  return value;
}

function mustRead(alternatives: Reference[], scope: ExpressionScope): unknown {
  for (const ref of alternatives) {
    const v = readReference(ref, scope);
    if (alternatives.length === 1 ? v !== undefined : !isEmpty(v)) return v;
  }
  const ref = alternatives[0] as Reference;
  if (alternatives.length > 1) throw new ExpressionError(`none of ${alternatives.map((r) => r.text).join(' ?? ')} is set`);
  throw new ExpressionError(
    ref.root === 'steps' && !(ref.name in scope.outputs)
      ? `\${${ref.text}} is not available: step ${ref.name} has not completed (skipped or not yet run)`
      : `\${${ref.text}} is not set`,
  );
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function walkStrings(value: unknown, visit: (s: string) => void): void {
  if (typeof value === 'string') visit(value);
  else if (Array.isArray(value)) value.forEach((v) => walkStrings(v, visit));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => walkStrings(v, visit));
}

// ---- guards -----------------------------------------------------------------------------

export type GuardExpr =
  | { kind: 'ref'; ref: Reference }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'not'; expr: GuardExpr }
  | { kind: 'and' | 'or'; left: GuardExpr; right: GuardExpr }
  | { kind: 'eq' | 'ne'; left: GuardExpr; right: GuardExpr };

type Token = { t: 'op'; v: string } | { t: 'str'; v: string } | { t: 'word'; v: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (src.startsWith('==', i) || src.startsWith('!=', i) || src.startsWith('&&', i) || src.startsWith('||', i)) {
      tokens.push({ t: 'op', v: src.slice(i, i + 2) });
      i += 2;
    } else if (c === '!' || c === '(' || c === ')') {
      tokens.push({ t: 'op', v: c });
      i++;
    } else if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new ExpressionError(`unterminated string at column ${i + 1}`);
      tokens.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else {
      const m = /^[A-Za-z0-9_.-]+/.exec(src.slice(i));
      if (!m) throw new ExpressionError(`unexpected ${JSON.stringify(c)} at column ${i + 1}`);
      tokens.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

export function parseGuard(src: string): GuardExpr {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (v: string) => {
    const tok = peek();
    return tok?.t === 'op' && tok.v === v;
  };
  const parseOr = (): GuardExpr => {
    let left = parseAnd();
    while (isOp('||')) {
      pos++;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): GuardExpr => {
    let left = parseUnary();
    while (isOp('&&')) {
      pos++;
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): GuardExpr => {
    if (isOp('!')) {
      pos++;
      return { kind: 'not', expr: parseUnary() };
    }
    const left = parseOperand();
    if (isOp('==') || isOp('!=')) {
      const kind = (peek() as Token).v === '==' ? 'eq' : 'ne';
      pos++;
      return { kind, left, right: parseOperand() };
    }
    return left;
  };
  const parseOperand = (): GuardExpr => {
    const tok = peek();
    if (!tok) throw new ExpressionError('unexpected end of guard');
    pos++;
    if (tok.t === 'op' && tok.v === '(') {
      const inner = parseOr();
      if (!isOp(')')) throw new ExpressionError('missing )');
      pos++;
      return inner;
    }
    if (tok.t === 'str') return { kind: 'literal', value: tok.v };
    if (tok.t === 'word') {
      if (tok.v === 'true' || tok.v === 'false') return { kind: 'literal', value: tok.v === 'true' };
      if (tok.v === 'null') return { kind: 'literal', value: null };
      if (/^-?\d+(\.\d+)?$/.test(tok.v)) return { kind: 'literal', value: Number(tok.v) };
      return { kind: 'ref', ref: parseReference(tok.v) };
    }
    throw new ExpressionError(`unexpected ${JSON.stringify(tok.v)}`);
  };
  const expr = parseOr();
  if (pos !== tokens.length) throw new ExpressionError(`unexpected ${JSON.stringify(tokens[pos]?.v)} after the expression`);
  return expr;
}

export function guardReferences(expr: GuardExpr): Reference[] {
  switch (expr.kind) {
    case 'ref':
      return [expr.ref];
    case 'literal':
      return [];
    case 'not':
      return guardReferences(expr.expr);
    default:
      return [...guardReferences(expr.left), ...guardReferences(expr.right)];
  }
}

export function evaluateGuard(expr: GuardExpr, scope: ExpressionScope): boolean {
  return truthy(evalNode(expr, scope));
}

function evalNode(expr: GuardExpr, scope: ExpressionScope): unknown {
  switch (expr.kind) {
    case 'ref':
      return readReference(expr.ref, scope);
    case 'literal':
      return expr.value;
    case 'not':
      return !truthy(evalNode(expr.expr, scope));
    case 'and':
      return truthy(evalNode(expr.left, scope)) && truthy(evalNode(expr.right, scope));
    case 'or':
      return truthy(evalNode(expr.left, scope)) || truthy(evalNode(expr.right, scope));
    case 'eq':
      return (evalNode(expr.left, scope) ?? null) === (evalNode(expr.right, scope) ?? null);
    case 'ne':
      return (evalNode(expr.left, scope) ?? null) !== (evalNode(expr.right, scope) ?? null);
  }
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return Boolean(v);
}
