import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { compromisedLinuxHost } from '../../../src/drill/sim-host/host-profile.js';
import { startSimSshHost, type RunningSimSshHost } from '../../../src/drill/sim-host/sim-ssh-host.js';
import type { Device } from '../../../src/tailnet/types.js';

const { Client, utils } = ssh2;

const device: Device = {
  id: '1000002',
  nodeId: 'nBobLaptopCNTRL',
  addresses: ['100.64.0.2', 'fd7a:115c:a1e0::2'],
  name: 'bob-laptop.tail4a1b2c.ts.net',
  hostname: 'bob-laptop',
  user: 'bob@example.com',
};

const clientKey = utils.generateKeyPairSync('ed25519');
const otherKey = utils.generateKeyPairSync('ed25519');
const enrolled: Array<{ key: string; hostname: string }> = [];
let host: RunningSimSshHost;

beforeAll(async () => {
  host = await startSimSshHost({
    profile: compromisedLinuxHost({
      device,
      peers: ['100.64.0.20'],
      now: new Date('2026-11-21T08:30:00Z'),
      enroll: async (key, hostname) => {
        enrolled.push({ key, hostname });
        return { ok: true, message: '' };
      },
    }),
    authorizedKeys: [clientKey.public],
  });
});
afterAll(async () => host.close());

function connect(privateKey: string, expectedFingerprint = host.fingerprint): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      host: host.host,
      port: host.port,
      username: 'root',
      privateKey,
      readyTimeout: 5000,
      hostVerifier: (key: Buffer) => {
        const fp = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
        return fp === expectedFingerprint;
      },
    });
  });
}

function exec(c: ssh2.Client, command: string, stdin?: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('exit', (c2: number) => (code = c2));
      stream.on('close', () => resolve({ stdout, stderr, code }));
      if (stdin !== undefined) stream.end(stdin);
    });
  });
}

describe('simulated SSH host', () => {
  it('answers collector commands over a real SSH session with a pinned host key', async () => {
    const c = await connect(clientKey.private);
    const status = await exec(c, `'tailscale' 'status' '--json'`);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).Self.HostName).toBe('bob-laptop');
    const ps = await exec(c, `'ps' 'auxww'`);
    expect(ps.stdout).toContain('/tmp/.cache/.x/kw');
    expect((await exec(c, `'command' '-v' 'docker'`)).code).toBe(1);
    expect((await exec(c, `'sh' '-c' 'command -v tailscale'`)).code).toBe(0);
    expect(host.commandLog).toContain(`'ps' 'auxww'`);
    c.end();
  });

  it('treats hostile-looking arguments as data and unknown programs as not found', async () => {
    const c = await connect(clientKey.private);
    const r = await exec(c, `'$(touch /tmp/pwned)'`);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('$(touch /tmp/pwned): not found');
    const unquoted = await exec(c, 'cat /etc/passwd; id');
    expect(unquoted.code).toBe(2);
    c.end();
  });

  it('re-enrols with an auth key read from stdin, refusing one in argv', async () => {
    const c = await connect(clientKey.private);
    const fake = 'drill-key-value-not-a-real-secret';
    const bad = await exec(c, `'tailscale' 'up' '--auth-key=${fake}'`);
    expect(bad.code).toBe(1);
    expect(enrolled).toHaveLength(0);
    const good = await exec(c, `'tailscale' 'up' '--reset' '--auth-key=file:/dev/stdin' '--hostname=bob-laptop'`, `${fake}\n`);
    expect(good).toMatchObject({ code: 0, stdout: 'Success.\n' });
    expect(enrolled).toEqual([{ key: fake, hostname: 'bob-laptop' }]);
    c.end();
  });

  it('refuses a client key that is not authorized', async () => {
    await expect(connect(otherKey.private)).rejects.toThrow(/authentication methods failed/);
  });

  it('is refused by a client pinning another host key', async () => {
    await expect(connect(clientKey.private, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(/verification failed/i);
  });

  it('drops connections while its network path is gone (reachable() false), and takes them again after', async () => {
    let up = true;
    const profile = compromisedLinuxHost({ device, peers: [], now: new Date('2026-11-21T08:30:00Z'), enroll: async () => ({ ok: true, message: '' }) });
    const gated = await startSimSshHost({ profile, authorizedKeys: [clientKey.public], reachable: () => up });
    const connectTo = () =>
      new Promise<ssh2.Client>((resolve, reject) => {
        const c = new Client();
        c.once('ready', () => resolve(c));
        c.once('error', reject);
        c.connect({ host: gated.host, port: gated.port, username: 'root', privateKey: clientKey.private, readyTimeout: 5000, hostVerifier: () => true });
      });
    try {
      (await connectTo()).end();
      up = false;
      await expect(connectTo()).rejects.toThrow();
      up = true;
      (await connectTo()).end();
    } finally {
      await gated.close();
    }
  });

  it('its known_hosts line matches the key OpenSSH would see', () => {
    expect(host.knownHostsLine).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${host.port} ssh-ed25519 AAAA`));
  });
});
