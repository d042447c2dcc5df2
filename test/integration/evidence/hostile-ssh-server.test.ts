/**
 * A compromised node's sshd that ignores our channel close and keeps streaming after a command
 * timed out must not crash collection (it used to: write after end into a closed archive entry).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEvidence } from '../../../src/evidence/collect-evidence.js';
import { parseCollector } from '../../../src/evidence/collector-schema.js';
import { createSshConnector } from '../../../src/evidence/ssh-connector.js';

const { Server, utils } = ssh2;
const hostKey = utils.generateKeyPairSync('ed25519');
const clientKey = utils.generateKeyPairSync('ed25519');
const hostBlob = (utils.parseKey(hostKey.public) as ssh2.ParsedKey).getPublicSSH();
const fingerprint = `SHA256:${createHash('sha256').update(hostBlob).digest('base64').replace(/=+$/, '')}`;
let server: InstanceType<typeof Server>;
let port = 0;
const timers: NodeJS.Timeout[] = [];

beforeAll(async () => {
  server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    // Hostile server: never acts on our CHANNEL_CLOSE, keeps writing.
    (client as unknown as { _protocol: { _handlers: Record<string, unknown> } })._protocol._handlers.CHANNEL_CLOSE = () => undefined;
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () =>
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec) => {
          const stream = acceptExec();
          timers.push(setInterval(() => stream.write(`${'x'.repeat(1000)}\n`), 5));
        });
        session.on('signal', () => undefined);
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  port = (server.address() as { port: number }).port;
});
afterAll(() => {
  timers.forEach(clearInterval);
  server.close();
});

describe('collection from a hostile sshd', () => {
  it('after a command times out, nothing more is written into its sink', async () => {
    const connector = createSshConnector({ auth: { kind: 'key', privateKey: Buffer.from(clientKey.private) }, hostKeys: { kind: 'fingerprint', fingerprint } });
    const host = await connector.connect({ label: 'h', address: '127.0.0.1', port, user: 'root' });
    let settled = false;
    let lateWrites = 0;
    const sink = new Writable({
      write(_chunk, _enc, cb) {
        if (settled) lateWrites++;
        cb();
      },
    });
    const r = await host.run({ argv: ['cat', '/dev/urandom'], timeoutMs: 500 }, sink);
    settled = true;
    // The sink stays open: any write now is data the connector should have stopped forwarding.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await host.close();
    expect(r.timedOut).toBe(true);
    expect(lateWrites).toBe(0);
  });

  it('times the commands out, records them, and finishes without crashing', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    const collector = parseCollector(
      'id: t\ndescription: t\nartifacts:\n  - name: a.txt\n    argv: [cat, /dev/urandom]\n    timeoutSeconds: 1\n  - name: b.txt\n    argv: [uptime]\n    timeoutSeconds: 1\n',
      't.yaml',
    );
    const result = await collectEvidence({
      connector: createSshConnector({ auth: { kind: 'key', privateKey: Buffer.from(clientKey.private) }, hostKeys: { kind: 'fingerprint', fingerprint } }),
      collectors: [collector],
      hosts: [{ label: 'h', address: '127.0.0.1', port, user: 'root' }],
      archivePath: join(mkdtempSync(join(tmpdir(), 'tnir-hostile-')), 'a.tar.gz'),
      run: { runId: 'r', operator: 'o', target: {} },
    });
    // Late data from the server arrives after the commands were given up on.
    await new Promise((r) => setTimeout(r, 1500));
    process.off('uncaughtException', onUncaught);
    expect(uncaught.map(String)).toEqual([]);
    expect(result.manifest.artifacts.map((a) => [a.name, a.timedOut])).toEqual([
      ['a.txt', true],
      ['b.txt', true],
    ]);
  });
});
