import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';

const sshWith = (ssh: unknown) => configSchema.safeParse({ ssh });
const issues = (ssh: unknown) => {
  const r = sshWith(ssh);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('config: SSH jump hosts', () => {
  it('accepts a per-device jump host, `none`, and a global one', () => {
    const r = sshWith({
      jump: 'ops@bastion.example.com:2222',
      devices: {
        'web-2': { address: '10.20.0.2', jump: 'ops@dmz-jump:22' },
        'db-1': { address: '192.0.2.30', jump: 'none' },
        'web-3': { address: '192.0.2.33' },
        'web-6': { address: 'fd00::6', jump: '[fd00::1]:2200' },
      },
    });
    expect(r.success).toBe(true);
    expect(r.data?.ssh.devices['web-2']).toEqual({ address: '10.20.0.2', port: 22, jump: 'ops@dmz-jump:22', path: 'out-of-band' });
    expect(r.data?.ssh.devices['db-1']?.jump).toBe('none');
    expect(r.data?.ssh.devices['web-3']).not.toHaveProperty('jump');
  });

  it('rejects a malformed per-device jump with a message naming the form, at the field', () => {
    for (const jump of ['ops@', 'ops@bastion:port', 'ops bastion', 'ProxyCommand=nc %h %p', 'a@b@c', '-oProxyCommand=x', '']) {
      expect(issues({ devices: { 'web-2': { address: '10.20.0.2', jump } } }), jump).toEqual([
        'ssh.devices.web-2.jump: USER@HOST[:PORT] (e.g. ops@bastion.example.com:2222), or none to connect directly',
      ]);
    }
  });

  it('rejects a jump port out of range, globally and per device', () => {
    expect(issues({ jump: 'ops@bastion:0' })).toEqual(['ssh.jump: the jump port must be between 1 and 65535']);
    expect(issues({ devices: { 'web-2': { address: '10.20.0.2', jump: 'ops@[fd00::1]:65536' } } })).toEqual([
      'ssh.devices.web-2.jump: the jump port must be between 1 and 65535',
    ]);
  });

  it('still requires the address: a jump host is how to reach it, not where', () => {
    expect(issues({ devices: { 'web-2': { jump: 'ops@bastion' } } })).toEqual(['ssh.devices.web-2.address: Invalid input: expected string, received undefined']);
  });

  it('rejects unknown keys in a device entry', () => {
    expect(issues({ devices: { 'web-2': { address: '10.20.0.2', proxyJump: 'ops@bastion' } } })[0]).toMatch(/proxyJump/);
  });
});
