import { describe, expect, it } from 'vitest';
import { parseHujson, PolicyInvalidError } from '../../../../src/tailnet/policy/index.js';
import { positionAt, lineStartsOf } from '../../../../src/tailnet/policy/hujson.js';

function errorOf(text: string): PolicyInvalidError {
  try {
    parseHujson(text);
  } catch (e) {
    if (e instanceof PolicyInvalidError) return e;
    throw e;
  }
  throw new Error('expected a parse error');
}

describe('parseHujson', () => {
  it('accepts comments and trailing commas', () => {
    const doc = parseHujson('{\n  // comment\n  "a": [1, 2,], /* block */\n}\n');
    expect(doc.root.type).toBe('object');
  });

  it('reports the line and column of a syntax error in the control server wording', () => {
    const e = errorOf('{\n  "acls": [\n    {"action" "accept"}\n  ]\n}');
    expect(e.message).toBe("line 3, column 15: invalid character '\"' after object key");
    expect(e.location).toEqual({ line: 3, column: 15 });
    expect(e.exitCode).toBe(2);
  });

  it('reports a missing value', () => {
    expect(errorOf('{"a": }').message).toBe("line 1, column 7: invalid character '}' looking for beginning of value");
  });

  it('reports truncated input', () => {
    expect(errorOf('{"a": [1,').message).toMatch(/^line 1, column 10: unexpected end of JSON input$/);
  });

  it('rejects a top-level array', () => {
    expect(errorOf('[1]').message).toBe('line 1, column 1: policy must be a JSON object');
  });
});

describe('positionAt', () => {
  it('maps offsets to 1-based line and column', () => {
    const starts = lineStartsOf('ab\ncd\n\nef');
    expect(positionAt(starts, 0)).toEqual({ line: 1, column: 1 });
    expect(positionAt(starts, 4)).toEqual({ line: 2, column: 2 });
    expect(positionAt(starts, 7)).toEqual({ line: 4, column: 1 });
  });
});
