/**
 * HuJSON (JSON with comments and trailing commas) parsing with the control server's error
 * wording, plus the offset→line bookkeeping the evaluator needs to name rules by line.
 * Edits never re-serialise the document: see policy-edit.ts, which splices text.
 */
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { PolicyInvalidError } from './errors.js';

export interface HujsonDocument {
  text: string;
  root: Node;
  /** Offsets where each line starts (line 1 at index 0). */
  lineStarts: number[];
}

export function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/** 1-based line and column of an offset. */
export function positionAt(lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
}

function describeChar(text: string, offset: number): string {
  const ch = text[offset];
  if (ch === undefined) return '';
  // Go's encoding/json quoteChar: ' and " are special-cased, the rest as strconv.Quote.
  if (ch === "'") return "\\'";
  if (ch === '"') return '"';
  return JSON.stringify(ch).slice(1, -1);
}

function errorText(text: string, e: ParseError): string {
  const atEnd = e.offset >= text.length;
  const ch = describeChar(text, e.offset);
  switch (printParseErrorCode(e.error)) {
    case 'PropertyNameExpected':
      return atEnd ? 'unexpected end of JSON input' : `invalid character '${ch}' looking for beginning of object key string`;
    case 'ColonExpected':
      return atEnd ? 'unexpected end of JSON input' : `invalid character '${ch}' after object key`;
    case 'CommaExpected':
      return atEnd ? 'unexpected end of JSON input' : `invalid character '${ch}' after object key:value pair or array element`;
    case 'CloseBraceExpected':
    case 'CloseBracketExpected':
    case 'ValueExpected':
    case 'InvalidSymbol':
      return atEnd ? 'unexpected end of JSON input' : `invalid character '${ch}' looking for beginning of value`;
    case 'EndOfFileExpected':
      return `invalid character '${ch}' after top-level value`;
    case 'UnexpectedEndOfComment':
      return 'unexpected EOF in block comment';
    case 'UnexpectedEndOfString':
      return 'unexpected EOF in string';
    case 'InvalidNumberFormat':
    case 'UnexpectedEndOfNumber':
      return `invalid character '${ch}' in numeric literal`;
    case 'InvalidUnicode':
    case 'InvalidEscapeCharacter':
      return `invalid character '${ch}' in string escape code`;
    case 'InvalidCharacter':
      return `invalid character '${ch}' in string literal`;
    default:
      return `invalid character '${ch}'`;
  }
}

/** Parse HuJSON; throws PolicyInvalidError `line N, column M: …` on the first syntax error. */
export function parseHujson(text: string): HujsonDocument {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  const lineStarts = lineStartsOf(text);
  const first = errors[0];
  if (first || !root) {
    const offset = first?.offset ?? text.length;
    const pos = positionAt(lineStarts, offset);
    const detail = first ? errorText(text, first) : 'unexpected end of JSON input';
    throw new PolicyInvalidError(`line ${pos.line}, column ${pos.column}: ${detail}`, pos);
  }
  if (root.type !== 'object') {
    const pos = positionAt(lineStarts, root.offset);
    throw new PolicyInvalidError(`line ${pos.line}, column ${pos.column}: policy must be a JSON object`, pos);
  }
  return { text, root, lineStarts };
}
