/**
 * One SSH connector, several routes: devices of one configuration reach their hosts through
 * their own jump host, directly (`jump: none`), or through the global `ssh.jump`. In-process
 * ssh2 servers on loopback stand in for the jump hosts (they forward only to 127.0.0.1) and the
 * targets; every server has its own host key, pinned in one known_hosts text.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';
import { parseCollector } from '../../../src/evidence/collector-schema.js';
import { CollectionFailedError, createEvidenceCollector } from '../../../src/evidence/evidence-collector-adapter.js';
import { HostKeyRejectedError } from '../../../src/evidence/evidence-errors.js';
import { parseKnownHosts } from '../../../src/evidence/host-keys.js';
import type { EvidenceManifest } from '../../../src/evidence/manifest.js';
import { createSshConnector } from '../../../src/evidence/ssh-connector.js';
import { DRILL_NAMESPACE } from '../../../src/evidence/sshsig.js';
import { resolveSshRoute } from '../../../src/evidence/ssh-setup.js';
import type { Device } from '../../../src/tailnet/types.js';
import { readArchive } from '../../system/support/archive-reader.js';

const { Server, utils } = ssh2;
const clientKey = utils.generateKeyPairSync('ed25519');

interface LabServer {
  name: string;
  port: number;
  knownHostsLine: string;
  fingerprint: string;
  /** `user` of every authenticated session. */
  logins: string[];
  /** Forwarding requests this server received (as a jump host). */
  forwards: string[];
  server: InstanceType<typeof Server>;
}

async function startServer(name: string, role: 'jump' | 'target'): Promise<LabServer> {
  const key = utils.generateKeyPairSync('ed25519');
  const parsed = utils.parseKey(key.public) as ssh2.ParsedKey;
  const blob = parsed.getPublicSSH();
  const lab: Omit<LabServer, 'port' | 'knownHostsLine'> = {
    name,
    fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
    logins: [],
    forwards: [],
    server: new Server({ hostKeys: [key.private] }, (client) => {
      client.on('authentication', (ctx) => {
        if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
        // A client first asks whether the key would do, then signs: count the signed login.
        if (ctx.signature) lab.logins.push(ctx.username);
        ctx.accept();
      });
      client.on('error', () => undefined);
      client.on('ready', () => {
        if (role === 'jump')
          client.on('tcpip', (accept, reject, info) => {
            lab.forwards.push(`${info.destIP}:${info.destPort}`);
            // Loopback only: test traffic never leaves the machine.
            if (info.destIP !== '127.0.0.1') return reject();
            const channel = accept();
            const sock = tcpConnect(info.destPort, '127.0.0.1');
            sock.on('error', () => channel.destroy());
            channel.on('error', () => sock.destroy());
            sock.pipe(channel).pipe(sock);
          });
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('exec', (acceptExec) => {
            const stream = acceptExec();
            stream.write(`${name}\n`);
            stream.exit(0);
            stream.end();
          });
        });
      });
    }),
  };
  await new Promise<void>((resolve) => lab.server.listen(0, '127.0.0.1', () => resolve()));
  const port = (lab.server.address() as { port: number }).port;
  return { ...lab, port, knownHostsLine: `[127.0.0.1]:${port} ${parsed.type} ${blob.toString('base64')}` };
}

const collector = parseCollector('id: who\ndescription: which host answered\nartifacts:\n  - name: name.txt\n    argv: [hostname]\n', 'who.yaml');
const device = (label: string, nodeId: string, hostname = label): Device => ({
  id: nodeId,
  nodeId,
  addresses: ['100.64.0.9'],
  name: `${label}.tail1.ts.net`,
  hostname,
  user: 'alice@example.com',
});

describe('per-device SSH jump hosts through one connector', () => {
  let dir: string;
  const s: Record<'jumpOwn' | 'jumpGlobal' | 'web' | 'db' | 'app', LabServer> = {} as never;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tnir-jumps-'));
    s.jumpOwn = await startServer('jump-own', 'jump');
    s.jumpGlobal = await startServer('jump-global', 'jump');
    s.web = await startServer('web', 'target');
    s.db = await startServer('db', 'target');
    s.app = await startServer('app', 'target');
  });
  afterAll(() => {
    for (const srv of Object.values(s)) srv.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = () =>
    configSchema.parse({
      ssh: {
        user: 'root',
        jump: `ops@127.0.0.1:${s.jumpGlobal.port}`,
        devices: {
          web: { address: '127.0.0.1', port: s.web.port, jump: `jumper@127.0.0.1:${s.jumpOwn.port}` },
          nDB: { address: '127.0.0.1', port: s.db.port, jump: 'none' },
          app: { address: '127.0.0.1', port: s.app.port },
        },
      },
    }).ssh;
  const evidenceCollector = (knownHosts: string) =>
    createEvidenceCollector({
      ssh: config(),
      connector: createSshConnector({
        auth: { kind: 'key', privateKey: Buffer.from(clientKey.private) },
        hostKeys: { kind: 'known-hosts', entries: parseKnownHosts(knownHosts), source: 'test' },
        connectTimeoutMs: 5_000,
      }),
      collectors: [collector],
      runDir: (runId) => join(dir, runId),
      signer: () => Promise.reject(new Error('not sealing here')),
      namespace: DRILL_NAMESPACE,
      operator: 'tester',
    });
  const allPinned = () => Object.values(s).map((x) => x.knownHostsLine).join('\n');

  it('collects from each device over its own route and records the jump host it went through', async () => {
    const evidence = evidenceCollector(allPinned());
    const hosts: Record<string, { answer: string | undefined; record: EvidenceManifest['hosts'][number] | undefined }> = {};
    for (const d of [device('web', 'nWEB'), device('db', 'nDB'), device('app', 'nAPP')]) {
      const route = await evidence.routeFor(d);
      const r = await evidence.collect({ runId: `run-${d.hostname}`, device: d, route, signal: new AbortController().signal, progress: () => undefined });
      const entries = await readArchive(r.archivePath);
      const manifest = JSON.parse(entries.get('manifest.json')?.toString() ?? '{}') as EvidenceManifest;
      hosts[d.hostname] = { answer: entries.get(`artifacts/${d.hostname}/who/name.txt`)?.toString(), record: manifest.hosts[0] };
    }
    expect(hosts['web']?.answer).toBe('web\n');
    expect(hosts['db']?.answer).toBe('db\n');
    expect(hosts['app']?.answer).toBe('app\n');
    // web: through its own jump host; db: `none` beats the global jump; app: the global jump.
    expect(hosts['web']?.record).toMatchObject({
      port: s.web.port,
      hostKeyFingerprint: s.web.fingerprint,
      jump: { address: '127.0.0.1', port: s.jumpOwn.port, user: 'jumper', hostKeyFingerprint: s.jumpOwn.fingerprint },
    });
    expect(hosts['db']?.record).toMatchObject({ port: s.db.port, hostKeyFingerprint: s.db.fingerprint });
    expect(hosts['db']?.record).not.toHaveProperty('jump');
    expect(hosts['app']?.record).toMatchObject({ jump: { port: s.jumpGlobal.port, user: 'ops', hostKeyFingerprint: s.jumpGlobal.fingerprint } });
    expect(s.jumpOwn.forwards).toEqual([`127.0.0.1:${s.web.port}`]);
    expect(s.jumpGlobal.forwards).toEqual([`127.0.0.1:${s.app.port}`]);
    expect(s.jumpOwn.logins).toEqual(['jumper']);
    expect(s.jumpGlobal.logins).toEqual(['ops']);
    expect([...s.web.logins, ...s.db.logins, ...s.app.logins]).toEqual(['root', 'root', 'root']);
  });

  it("a node calling itself after another device is not sent through that device's jump host", async () => {
    const before = { own: s.jumpOwn.forwards.length, global: s.jumpGlobal.forwards.length };
    const evidence = evidenceCollector(allPinned());
    // nEVIL reports hostname "web": routed by its own names (none configured) to its tailnet
    // address through the global jump host, which refuses anything off loopback here.
    const route = await evidence.routeFor(device('evil', 'nEVIL', 'web'));
    expect(route).toMatchObject({ address: '100.64.0.9', path: 'tailnet', via: `ops@127.0.0.1:${s.jumpGlobal.port}` });
    await expect(
      evidence.collect({ runId: 'run-evil', device: device('evil', 'nEVIL', 'web'), route, signal: new AbortController().signal, progress: () => undefined }),
    ).rejects.toThrow(CollectionFailedError);
    expect(s.jumpOwn.forwards.length).toBe(before.own);
    expect(s.jumpGlobal.forwards.slice(before.global)).toEqual(['100.64.0.9:22']);
  });

  it('refuses a per-device jump host whose key is not pinned, naming it as the jump host', async () => {
    const pinned = Object.values(s)
      .filter((x) => x !== s.jumpOwn)
      .map((x) => x.knownHostsLine)
      .join('\n');
    const connector = createSshConnector({
      auth: { kind: 'key', privateKey: Buffer.from(clientKey.private) },
      hostKeys: { kind: 'known-hosts', entries: parseKnownHosts(pinned), source: 'test' },
      connectTimeoutMs: 5_000,
    });
    const route = resolveSshRoute(device('web', 'nWEB'), config());
    const forwards = s.jumpOwn.forwards.length;
    const err = await connector.connect(route.target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyRejectedError);
    expect((err as Error).message).toContain(`no pinned host key for jump host jumper@127.0.0.1:${s.jumpOwn.port} (on the way to root@127.0.0.1:${s.web.port})`);
    expect(s.jumpOwn.forwards.length).toBe(forwards);
  });
});
