import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';
import { resolveSshRoute } from '../../../src/evidence/ssh-setup.js';
import type { Device } from '../../../src/tailnet/types.js';

const ssh = configSchema.parse({ ssh: { devices: { 'web-2': { address: '192.0.2.10' }, nWEB7CNTRL: { address: '192.0.2.77', port: 2222 } } } }).ssh;
const device = (over: Partial<Device>): Device => ({ id: '1', nodeId: 'nX', addresses: ['100.64.0.9', 'fd7a:115c:a1e0::9'], name: 'x.tail1.ts.net', hostname: 'x', user: 'u@example.com', ...over });

describe('resolveSshRoute', () => {
  it('uses the entry for the MagicDNS label or node id, out of band', () => {
    expect(resolveSshRoute(device({ name: 'web-2.tail1.ts.net', hostname: 'web-2' }), ssh)).toMatchObject({ target: { address: '192.0.2.10', port: 22 }, path: 'out-of-band' });
    expect(resolveSshRoute(device({ nodeId: 'nWEB7CNTRL' }), ssh)).toMatchObject({ target: { address: '192.0.2.77', port: 2222 } });
  });

  it("never follows the node's self-reported hostname to another machine's address", () => {
    // web-7 is compromised and renamed itself "web-2": it must not be routed to web-2's management address.
    const r = resolveSshRoute(device({ nodeId: 'nWEB7', name: 'web-7.tail1.ts.net', hostname: 'web-2' }), ssh);
    expect(r).toMatchObject({ target: { address: '100.64.0.9', port: 22 }, path: 'tailnet' });
  });

  it('ignores inherited object keys as names', () => {
    const r = resolveSshRoute(device({ name: 'constructor.tail1.ts.net', hostname: '__proto__' }), ssh);
    expect(r.target.address).toBe('100.64.0.9');
  });
});
