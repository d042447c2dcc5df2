import { describe, expect, it } from 'vitest';
import { FaultInjector, parseFailFlag, routeMatches } from '../../../src/drill/sim/fault-injector.js';

describe('routeMatches', () => {
  it('matches one segment with * and any with **', () => {
    expect(routeMatches('POST /api/v2/users/*/suspend', 'POST', '/api/v2/users/u1/suspend')).toBe(true);
    expect(routeMatches('POST /api/v2/users/*/suspend', 'POST', '/api/v2/users/u1/x/suspend')).toBe(false);
    expect(routeMatches('POST /api/v2/users/*/suspend', 'GET', '/api/v2/users/u1/suspend')).toBe(false);
    expect(routeMatches('* /**', 'DELETE', '/api/v2/device/1')).toBe(true);
    expect(routeMatches('GET /api/v2/tailnet/*/acl', 'GET', '/api/v2/tailnet/-/acl')).toBe(true);
    expect(routeMatches('GET /api/v2/tailnet/*/acl', 'GET', '/api/v2/tailnet/-/aclx')).toBe(false);
  });
});

describe('FaultInjector', () => {
  it('spends a status fault after `times` uses', () => {
    const f = new FaultInjector([{ kind: 'status', route: 'GET /x', status: 429, times: 2 }]);
    expect(f.decide('GET', '/x').action).toBe('fail');
    expect(f.decide('GET', '/x').action).toBe('fail');
    expect(f.decide('GET', '/x').action).toBe('none');
  });

  it('adds latency from every matching latency rule', () => {
    const f = new FaultInjector([
      { kind: 'latency', route: '* /**', ms: 10 },
      { kind: 'latency', route: 'GET /x', ms: 5 },
    ]);
    expect(f.decide('GET', '/x')).toEqual({ action: 'none', latencyMs: 15 });
    expect(f.decide('GET', '/y')).toEqual({ action: 'none', latencyMs: 10 });
  });

  it('arms a policy race only after a read, once per armed race', () => {
    const f = new FaultInjector([{ kind: 'concurrent-policy-edit', times: 1 }]);
    expect(f.takePolicyRace()).toBe(false);
    f.notePolicyRead();
    expect(f.takePolicyRace()).toBe(true);
    f.notePolicyRead();
    expect(f.takePolicyRace()).toBe(false);
  });
});

describe('parseFailFlag', () => {
  it('parses METHOD /path=STATUSxN', () => {
    expect(parseFailFlag('POST /api/v2/users/*/suspend=403x2')).toEqual({ kind: 'status', route: 'POST /api/v2/users/*/suspend', status: 403, times: 2 });
    expect(() => parseFailFlag('nonsense')).toThrow(/METHOD \/path=STATUS/);
  });
});
