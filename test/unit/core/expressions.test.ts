import { describe, expect, it } from 'vitest';
import { evaluateGuard, ExpressionError, guardReferences, paramReferences, parseGuard, parseReference, resolveParams } from '../../../src/core/expressions.js';

const scope = {
  inputs: { target: 'web-1', tags: [] as string[], responders: ['alice@example.com'] },
  outputs: { triage: { identity: { kind: 'user', userId: 'u1' }, device: { tags: ['tag:web'], nodeId: 'n1' } } },
};

describe('guards', () => {
  it.each([
    ["steps.triage.output.identity.kind == 'user'", true],
    ["steps.triage.output.identity.kind != 'user'", false],
    ["steps.triage.output.identity.kind == 'tagged' || inputs.target == 'web-1'", true],
    ["!(steps.triage.output.identity.kind == 'user' && inputs.target == 'web-1')", false],
    ['inputs.tags', false],
    ['inputs.tags || steps.triage.output.device.tags', true],
    ['steps.triage.output.missing.deeper == null', true],
    ['true && !false', true],
  ])('%s → %s', (src, expected) => {
    expect(evaluateGuard(parseGuard(src), scope)).toBe(expected);
  });

  it('lists the references a guard reads', () => {
    expect(guardReferences(parseGuard("inputs.a == 'x' || !steps.b.output.c")).map((r) => r.text)).toEqual(['inputs.a', 'steps.b.output.c']);
  });

  it.each(["inputs.a == 'x", 'inputs.a ==', '(inputs.a', 'inputs.a inputs.b', 'steps.x.y', 'process.env.HOME', 'inputs.a; rm -rf /'])('rejects %s', (src) => {
    expect(() => parseGuard(src)).toThrow(ExpressionError);
  });
});

describe('params references', () => {
  it('keeps the type of a whole-string reference and stringifies embedded ones', () => {
    expect(resolveParams({ who: '${inputs.responders}', msg: 'node ${steps.triage.output.device.nodeId}!' }, scope)).toEqual({
      who: ['alice@example.com'],
      msg: 'node n1!',
    });
  });

  it('uses the first non-empty alternative of ??', () => {
    expect(resolveParams('${inputs.tags ?? steps.triage.output.device.tags}', scope)).toEqual(['tag:web']);
    expect(() => resolveParams('${inputs.tags ?? inputs.nope}', scope)).toThrow(/none of inputs.tags \?\? inputs.nope/);
  });

  it('names a skipped step when its output is missing', () => {
    expect(() => resolveParams('${steps.collect.output.archivePath}', scope)).toThrow(/step collect has not completed/);
  });

  it('finds references for validation, including ?? alternatives', () => {
    expect(paramReferences({ a: ['x ${inputs.a}', { b: '${steps.s.output.x ?? inputs.c}' }] }).map((r) => r.text)).toEqual(['inputs.a', 'steps.s.output.x', 'inputs.c']);
  });

  it('requires steps references to go through .output', () => {
    expect(() => parseReference('steps.triage.device')).toThrow(/steps.<id>.output/);
  });
});
