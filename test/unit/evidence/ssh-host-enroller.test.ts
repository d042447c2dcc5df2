import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';
import { createSshHostEnroller } from '../../../src/evidence/ssh-host-enroller.js';
import { EnrolmentFailedError, EnrolmentRefusedError } from '../../../src/rebuild/enrolment-failed-error.js';
import { HostKeyRejectedError } from '../../../src/evidence/evidence-errors.js';
import { resolveSshRoute } from '../../../src/evidence/ssh-setup.js';
import type { Device } from '../../../src/tailnet/types.js';
import type { HostTarget, RemoteConnector } from '../../../src/evidence/remote-command.js';
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
    await expect(enroller.enrol({ runId: 'r', oldDevice, authKey: fakeKey, tags: [], expires: '2026-01-01T01:00:00Z', method: 'ssh' })).rejects.toBeInstanceOf(EnrolmentRefusedError);
    expect(calls).toHaveLength(0);
  });

  // Held in a variable: the request type grows fields (expiry, method) that these tests do not need.
  const request = { runId: 'r', oldDevice, authKey: fakeKey, tags: [] as string[], expires: '2026-01-01T01:00:00Z', method: 'ssh' as const };

  it("re-enrols through the device's own jump host, as collection did", async () => {
    const { connector: fake } = fakeConnector(() => ({ stdout: 'Success.\n' }));
    const targets: HostTarget[] = [];
    const connector: RemoteConnector = { connect: (target, signal) => (targets.push(target), fake.connect(target, signal)) };
    const withJump = configSchema.parse({ ssh: { jump: 'ops@bastion', devices: { 'web-2': { address: '10.20.0.2', jump: 'ops@dmz-jump:2222' } } } }).ssh;
    const enroller = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, withJump), compromisedHostKeys: async () => ({}) });
    const r = await enroller.enrol(request);
    expect(targets).toEqual([expect.objectContaining({ address: '10.20.0.2', jump: { user: 'ops', address: 'dmz-jump', port: 2222 } })]);
    expect(r.detail).toBe('tailscale up on 10.20.0.2:22 (out-of-band via ops@dmz-jump:2222); key passed on stdin');
  });

  it('names the jump host when the rebuilt host cannot be reached', async () => {
    const { connector } = fakeConnector(() => ({}), { failConnect: () => new Error('connect ECONNREFUSED') });
    const withJump = configSchema.parse({ ssh: { jump: 'ops@bastion:2222' } }).ssh;
    const enroller = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, withJump), compromisedHostKeys: async () => ({}) });
    await expect(enroller.enrol(request)).rejects.toThrow(
      'cannot reach the rebuilt host at 100.64.0.7:22 via ops@bastion:2222 over SSH: connect ECONNREFUSED',
    );
  });
});

describe('SSH host enroller plan', () => {
  it("warns when the rebuilt host would be reached over the old node's Tailscale address", async () => {
    const { connector } = fakeConnector(() => ({ stdout: '' }));
    const viaTailnet = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, ssh), compromisedHostKeys: async () => ({}) });
    expect((await viaTailnet.describe(oldDevice)).warnings.join(' ')).toMatch(/not on the tailnet until it enrols/);
    const oob = { ...ssh, devices: { 'web-2': { address: '192.0.2.10', port: 22, path: 'out-of-band' as const } } };
    const outOfBand = createSshHostEnroller({ connector, routeFor: (d) => resolveSshRoute(d, oob), compromisedHostKeys: async () => ({}) });
    const described = await outOfBand.describe(oldDevice);
    expect(described.warnings).toEqual([]);
    expect(described.summary.join(' ')).toContain('root@192.0.2.10:22');
  });
});

describe('SSH host enroller connect failures', () => {
  it('an unpinned host key is a refusal (retrying cannot help); an unreachable host stays retryable', async () => {
    const mismatch = fakeConnector(() => ({ stdout: '' }), { failConnect: () => new HostKeyRejectedError('127.0.0.1:22', 'mismatch', 'SHA256:new', ['SHA256:old']) });
    const refusing = createSshHostEnroller({ connector: mismatch.connector, routeFor: (d) => resolveSshRoute(d, ssh), compromisedHostKeys: async () => ({}) });
    const request = { runId: 'r', oldDevice, authKey: fakeKey, tags: [], expires: '2026-01-01T01:00:00Z', method: 'ssh' as const };
    await expect(refusing.enrol(request)).rejects.toBeInstanceOf(EnrolmentRefusedError);
    const down = fakeConnector(() => ({ stdout: '' }), { failConnect: () => new Error('connect ECONNREFUSED') });
    const retrying = createSshHostEnroller({ connector: down.connector, routeFor: (d) => resolveSshRoute(d, ssh), compromisedHostKeys: async () => ({}) });
    const err = await retrying.enrol(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnrolmentFailedError);
    expect(err).not.toBeInstanceOf(EnrolmentRefusedError);
  });
});
