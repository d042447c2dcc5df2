import { describe, expect, it } from 'vitest';
import { resolveTarget } from '../../../src/engine/resolve-target.js';
import { FakeTailnet, seedTailnet } from './fakes/fake-tailnet.js';
import { SkippingClock } from '../../../src/core/clock.js';
import type { Device } from '../../../src/tailnet/types.js';

const devices = seedTailnet(new FakeTailnet(new SkippingClock())).devices;

describe('resolveTarget', () => {
  it.each([
    ['nWEB1CNTRL', 'nWEB1CNTRL'],
    ['2', 'nWEB1CNTRL'],
    ['100.64.0.2', 'nWEB1CNTRL'],
    ['fd7a:115c:a1e0::2', 'nWEB1CNTRL'],
    ['web-1.tail0000.ts.net', 'nWEB1CNTRL'],
    ['web-1.tail0000.ts.net.', 'nWEB1CNTRL'],
    ['WEB-1', 'nWEB1CNTRL'],
    ['laptop-1', 'nLAPTOP1CNTRL'],
  ])('%s → %s', (q, nodeId) => {
    expect(resolveTarget(q, devices).nodeId).toBe(nodeId);
  });

  it('an unknown name is a not-found error with the closest names', () => {
    expect(() => resolveTarget('web1', devices)).toThrow(/device not found: "web1".*Did you mean: web-1/);
  });

  it('an ambiguous name lists every match with node ids', () => {
    const twins: Device[] = [...devices, { ...(devices[1] as Device), id: '9', nodeId: 'nWEB1BCNTRL', name: 'web-1-b.tail0000.ts.net', addresses: ['100.64.0.9'] }];
    expect(() => resolveTarget('web-1', twins)).toThrow(/matches 2 devices: .*nWEB1CNTRL.*nWEB1BCNTRL/);
  });
});
