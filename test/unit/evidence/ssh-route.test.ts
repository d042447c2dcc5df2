import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';
import { UsageError } from '../../../src/core/errors.js';
import { formatSshEndpoint } from '../../../src/evidence/remote-command.js';
import { parseJump, resolveSshRoute } from '../../../src/evidence/ssh-setup.js';
import type { Device } from '../../../src/tailnet/types.js';

const ssh = configSchema.parse({ ssh: { devices: { 'web-2': { address: '192.0.2.10' }, nWEB7CNTRL: { address: '192.0.2.77', port: 2222 } } } }).ssh;
const device = (over: Partial<Device>): Device => ({ id: '1', nodeId: 'nX', addresses: ['100.64.0.9', 'fd7a:115c:a1e0::9'], name: 'x.tail1.ts.net', hostname: 'x', user: 'u@example.com', ...over });

describe('resolveSshRoute', () => {
  it('uses the entry for the MagicDNS label or node id, out of band', () => {
    expect(resolveSshRoute(device({ name: 'web-2.tail1.ts.net', hostname: 'web-2' }), ssh)).toMatchObject({ target: { address: '192.0.2.10', port: 22 }, path: 'out-of-band' });
    expect(resolveSshRoute(device({ nodeId: 'nWEB7CNTRL' }), ssh)).toMatchObject({ target: { address: '192.0.2.77', port: 2222 } });
  });

  it('an entry that says path: tailnet is reached over the tailnet (so the playbook collects before suspending the owner)', () => {
    const viaTailnet = configSchema.parse({ ssh: { devices: { 'bob-laptop': { address: 'bob-laptop.tail1.ts.net', path: 'tailnet' } } } }).ssh;
    expect(resolveSshRoute(device({ name: 'bob-laptop.tail1.ts.net' }), viaTailnet)).toMatchObject({ target: { address: 'bob-laptop.tail1.ts.net' }, path: 'tailnet' });
    expect(() => configSchema.parse({ ssh: { devices: { x: { address: 'a', path: 'lan' } } } })).toThrow();
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

  it('connects directly when no jump host is configured', () => {
    expect(resolveSshRoute(device({ name: 'web-2.tail1.ts.net' }), ssh).target.jump).toBeUndefined();
    expect(resolveSshRoute(device({}), ssh).target.jump).toBeUndefined();
  });
});

describe('resolveSshRoute with jump hosts', () => {
  const withJumps = configSchema.parse({
    ssh: {
      user: 'ir',
      jump: 'ops@bastion.example.com:2222',
      devices: {
        'web-2': { address: '10.20.0.2', jump: 'jumper@dmz-jump.example.com' },
        nDB1CNTRL: { address: '192.0.2.30', jump: 'none' },
        'web-3': { address: '192.0.2.33', user: 'admin' },
        'web-4': { address: '10.20.0.4', jump: 'mgmt-jump:2200' },
        'web-6': { address: 'fd00::6', jump: 'ops@[fd00::1]:22' },
      },
    },
  }).ssh;

  it("uses the device's own jump host over the global one, parsed", () => {
    const r = resolveSshRoute(device({ nodeId: 'nWEB2', name: 'web-2.tail1.ts.net', hostname: 'web-2' }), withJumps);
    expect(r).toEqual({
      target: { label: 'web-2', address: '10.20.0.2', port: 22, user: 'ir', jump: { user: 'jumper', address: 'dmz-jump.example.com', port: 22 } },
      path: 'out-of-band',
      via: 'jumper@dmz-jump.example.com:22',
    });
  });

  it('`jump: none` connects directly even though ssh.jump is set', () => {
    const r = resolveSshRoute(device({ nodeId: 'nDB1CNTRL', name: 'db-1.tail1.ts.net' }), withJumps);
    expect(r.target).toMatchObject({ address: '192.0.2.30', port: 22 });
    expect(r.target).not.toHaveProperty('jump');
    expect(r).not.toHaveProperty('via');
  });

  it('falls back to the global jump for an entry without one and for the tailnet path', () => {
    const global = { user: 'ops', address: 'bastion.example.com', port: 2222 };
    expect(resolveSshRoute(device({ name: 'web-3.tail1.ts.net' }), withJumps).target).toMatchObject({ address: '192.0.2.33', user: 'admin', jump: global });
    expect(resolveSshRoute(device({ name: 'laptop.tail1.ts.net' }), withJumps)).toMatchObject({ path: 'tailnet', target: { address: '100.64.0.9', jump: global } });
  });

  it('a jump without a user logs in as ssh.user; an IPv6 jump keeps its port', () => {
    expect(resolveSshRoute(device({ name: 'web-4.tail1.ts.net' }), withJumps).target.jump).toEqual({ user: 'ir', address: 'mgmt-jump', port: 2200 });
    expect(resolveSshRoute(device({ name: 'web-6.tail1.ts.net' }), withJumps).target.jump).toEqual({ user: 'ops', address: 'fd00::1', port: 22 });
  });

  it("a node claiming another device's hostname gets neither that device's address nor its jump host", () => {
    // web-7 renamed itself "web-2" (and even "nDB1CNTRL"): the ssh.devices keys match only names the control server assigns.
    for (const hostname of ['web-2', 'nDB1CNTRL', 'web-2.tail1.ts.net']) {
      const r = resolveSshRoute(device({ nodeId: 'nWEB7', name: 'web-7.tail1.ts.net', hostname }), withJumps);
      expect(r).toEqual({
        target: { label: hostname, address: '100.64.0.9', port: 22, user: 'ir', jump: { user: 'ops', address: 'bastion.example.com', port: 2222 } },
        path: 'tailnet',
        via: 'ops@bastion.example.com:2222',
      });
    }
  });

  it('a global `jump: none` means no jump host', () => {
    const direct = configSchema.parse({ ssh: { jump: 'none', devices: { 'web-2': { address: '10.20.0.2' } } } }).ssh;
    expect(resolveSshRoute(device({ name: 'web-2.tail1.ts.net' }), direct).target.jump).toBeUndefined();
    expect(resolveSshRoute(device({}), direct).target.jump).toBeUndefined();
  });
});

describe('parseJump and formatSshEndpoint', () => {
  it('round-trips user@host:port, bracketing IPv6 addresses', () => {
    expect(formatSshEndpoint(parseJump('ops@bastion:2222', 'root'))).toBe('ops@bastion:2222');
    expect(formatSshEndpoint(parseJump('bastion', 'root'))).toBe('root@bastion:22');
    expect(formatSshEndpoint(parseJump('ops@[fd00::1]:2200', 'root'))).toBe('ops@[fd00::1]:2200');
  });

  it('names the field it was given on a bad value', () => {
    expect(() => parseJump('ops@bastion:70000', 'root', 'ssh.devices.web-2.jump')).toThrow(UsageError);
    expect(() => parseJump('a b', 'root', 'ssh.devices.web-2.jump')).toThrow(/ssh\.devices\.web-2\.jump "a b" is not \[USER@\]HOST\[:PORT\]/);
  });
});
