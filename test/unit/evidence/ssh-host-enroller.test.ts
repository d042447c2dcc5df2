import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';
import { createSshHostEnroller } from '../../../src/evidence/ssh-host-enroller.js';
import { EnrolmentFailedError } from '../../../src/rebuild/enrolment-failed-error.js';
import { resolveSshRoute } from '../../../src/evidence/ssh-setup.js';
import type { Device } from '../../../src/tailnet/types.js';
import { fakeConnector } from './support/fake-remote.js';

const ssh = configSchema.parse({}).ssh;
const oldDevice: Device = { id: '7', nodeId: 'nWEB2', addresses: ['100.64.0.7'], name: 'web-2.tail1.ts.net', hostname: 'evil-claims-web-9', user: 'alice@example.com', tags: ['tag:web'] };
const fakeKey = ['tskey', 'auth', 'kTEST', 'NOTAREALSECRET'].join('-');

describe('SSH host enroller', () => {
  it('passes the key on stdin, never in argv, and enrols under the MagicDNS label', async () => {
    const { connector, calls } = fakeConnector(() => ({ stdout: 'Success.\n' }));
    const enroller = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, ssh), compromisedHostKeys: async () => ({ nWEB2: 'SHA256:old' }) });
    await enroller.enrol({ runId: 'r', oldDevice, authKey: fakeKey, tags: ['tag:web'], expires: '2026-01-01T01:00:00Z', method: 'ssh' });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.argv.join(' ')).not.toContain(fakeKey);
    expect(calls[0]!.argv).toContain('--auth-key=file:/dev/stdin');
    expect(calls[0]!.argv).toContain('--hostname=web-2');
  });

  it("refuses a host that still presents the compromised node's host key (not rebuilt)", async () => {
    // The fake host presents "SHA256:fake"; the run saw the same key on the compromised node.
    const { connector, calls } = fakeConnector(() => ({ stdout: 'Success.\n' }));
    const enroller = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, ssh), compromisedHostKeys: async () => ({ nWEB2: 'SHA256:fake' }) });
    await expect(enroller.enrol({ runId: 'r', oldDevice, authKey: fakeKey, tags: [], expires: '2026-01-01T01:00:00Z', method: 'ssh' })).rejects.toBeInstanceOf(EnrolmentFailedError);
    expect(calls).toHaveLength(0);
  });
});

describe('SSH host enroller plan', () => {
  it("warns when the rebuilt host would be reached over the old node's Tailscale address", async () => {
    const { connector } = fakeConnector(() => ({ stdout: '' }));
    const viaTailnet = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, ssh), compromisedHostKeys: async () => ({}) });
    expect((await viaTailnet.describe(oldDevice)).warnings.join(' ')).toMatch(/not on the tailnet until it enrols/);
    const oob = { ...ssh, devices: { 'web-2': { address: '192.0.2.10', port: 22 } } };
    const outOfBand = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, oob), compromisedHostKeys: async () => ({}) });
    const described = await outOfBand.describe(oldDevice);
    expect(described.warnings).toEqual([]);
    expect(described.summary.join(' ')).toContain('root@192.0.2.10:22');
  });
});
