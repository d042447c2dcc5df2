/**
 * A host whose network path breaks during the SSH handshake: something answers that is not SSH,
 * then the connection is reset. ssh2 reports that more than once (the reset, then "Connection
 * lost before handshake"); the connector must turn it into one typed error. An error event without a
 * listener would crash the whole run — it once did, on resume.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../../src/evidence/ed25519-keypair.js';
import { SshConnectError } from '../../../src/evidence/evidence-errors.js';
import { createSshConnector } from '../../../src/evidence/ssh-connector.js';

describe('a connection reset during the SSH handshake', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('is one SshConnectError, and no error event escapes afterwards', async () => {
    server = createServer((socket) => {
      socket.write('NOT-SSH\r\n');
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const key = generateEd25519KeyPair();
    const connector = createSshConnector({ auth: { kind: 'key', privateKey: Buffer.from(key.private) }, hostKeys: { kind: 'fingerprint', fingerprint: `SHA256:${'A'.repeat(43)}` }, connectTimeoutMs: 5000 });
    const escaped: unknown[] = [];
    const onEscaped = (e: unknown) => escaped.push(e);
    process.on('uncaughtException', onEscaped);
    try {
      for (let i = 0; i < 3; i++) {
        await expect(connector.connect({ label: 'node', address: '127.0.0.1', port, user: 'root' })).rejects.toBeInstanceOf(SshConnectError);
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(escaped).toEqual([]);
    } finally {
      process.off('uncaughtException', onEscaped);
    }
  });
});
