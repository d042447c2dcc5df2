import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { requireSystem } from '../support/requirements.js';
import { killProcessesWithCommandLine } from '../support/daemons.js';
import { freeLoopbackPort, makeKey, startSshd, type KeyPair, type SshdInstance } from '../support/sshd-lab.js';
import { createSshConnector, loadKeyAuth } from '../../../src/evidence/ssh-connector.js';
import { parseKnownHosts } from '../../../src/evidence/host-keys.js';
import { HostKeyRejectedError, SshConnectError } from '../../../src/evidence/evidence-errors.js';
import type { HostTarget, RemoteHost } from '../../../src/evidence/remote-command.js';

function hashingSink(): { sink: Writable; digest: () => string; bytes: () => number } {
  const h = createHash('sha256');
  let n = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      n += chunk.length;
      cb();
    },
  });
  return { sink, digest: () => h.digest('hex'), bytes: () => n };
}

describe.runIf(requireSystem(['root', 'sshd', 'ssh-keygen'], 'SSH connector (loopback sshd)'))(
  'SSH connector against a real sshd on loopback',
  () => {
    let dir: string;
    let sshd: SshdInstance;
    let client: KeyPair;
    let target: HostTarget;
    let knownHosts: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tir-conn-'));
      client = makeKey(dir, 'client');
      sshd = await startSshd({ address: '127.0.0.1', port: await freeLoopbackPort(), authorizedKeys: [client.publicLine] });
      target = { label: 'lab', address: '127.0.0.1', port: sshd.port, user: 'root' };
      knownHosts = `${sshd.knownHostsLine}\n`;
    });
    afterAll(async () => {
      // Commands the tests time out or cut off may outlive their session on the "node".
      for (const cmd of ['sleep 30.271', 'sh -c echo first; sleep 30.271', 'sh -c head -c 1000; sleep 30.271']) killProcessesWithCommandLine(cmd);
      await sshd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    async function connect(pinText = knownHosts): Promise<RemoteHost> {
      const auth = await loadKeyAuth(client.privatePath, async () => undefined);
      const connector = createSshConnector({
        auth,
        hostKeys: { kind: 'known-hosts', entries: parseKnownHosts(pinText), source: 'test' },
        connectTimeoutMs: 5_000,
      });
      return connector.connect(target);
    }

    it('pins the host key and reports the same fingerprint as ssh-keygen -lf', async () => {
      const host = await connect();
      try {
        expect(host.identity.hostKeyFingerprint).toBe(sshd.hostKeyFingerprint);
        expect(host.identity.hostKeyType).toBe('ssh-ed25519');
      } finally {
        await host.close();
      }
    });

    it('accepts a pinned SHA256 fingerprint and a hashed known_hosts entry', async () => {
      const auth = await loadKeyAuth(client.privatePath, async () => undefined);
      const byFp = createSshConnector({ auth, hostKeys: { kind: 'fingerprint', fingerprint: sshd.hostKeyFingerprint } });
      const h1 = await byFp.connect(target);
      await h1.close();
      const hashedFile = join(dir, 'known_hosts_hashed');
      writeFileSync(hashedFile, knownHosts);
      const { execFileSync } = await import('node:child_process');
      execFileSync('ssh-keygen', ['-H', '-f', hashedFile], { stdio: 'ignore' });
      const hashed = readFileSync(hashedFile, 'utf8');
      expect(hashed).toMatch(/^\|1\|/);
      const h2 = await connect(hashed);
      await h2.close();
    });

    it('refuses a mismatched host key and says it may be an attacker in the middle', async () => {
      const other = makeKey(dir, 'otherhost');
      const [type, blob] = other.publicLine.split(' ');
      const err = await connect(`[127.0.0.1]:${sshd.port} ${type} ${blob}\n`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HostKeyRejectedError);
      expect((err as HostKeyRejectedError).reason).toBe('mismatch');
      expect((err as Error).message).toContain('attacker in the middle');
      expect((err as Error).message).toContain(sshd.hostKeyFingerprint);
      expect((err as HostKeyRejectedError).hint).toContain('--known-hosts');
    });

    it('refuses a host that is not in known_hosts at all', async () => {
      const err = await connect(`[127.0.0.1]:1 ${sshd.knownHostsLine.split(' ').slice(1).join(' ')}\n`).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(HostKeyRejectedError);
      expect((err as HostKeyRejectedError).reason).toBe('unknown');
    });

    it('streams binary output byte-exactly, with hostile arguments passed as data', async () => {
      const host = await connect();
      try {
        const payload = join(dir, 'bin.dat');
        const data = Buffer.alloc(3 * 1024 * 1024 + 7);
        for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
        writeFileSync(payload, data);
        const s = hashingSink();
        const r = await host.run({ argv: ['cat', '--', payload], timeoutMs: 20_000 }, s.sink);
        expect(r.exitCode).toBe(0);
        expect(s.bytes()).toBe(data.length);
        expect(s.digest()).toBe(createHash('sha256').update(data).digest('hex'));

        const pwned = join(dir, 'pwned');
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on('data', (c: Buffer) => chunks.push(c));
        const hostile = `$(touch ${pwned}); touch ${pwned} \`touch ${pwned}\` ' " \\`;
        const r2 = await host.run({ argv: ['printf', '%s', hostile], timeoutMs: 10_000 }, out);
        expect(r2.exitCode).toBe(0);
        expect(Buffer.concat(chunks).toString()).toBe(hostile);
        expect(existsSync(pwned)).toBe(false);
      } finally {
        await host.close();
      }
    });

    it('reports non-zero exit, wall-clock timeout, idle timeout and the byte cap', async () => {
      const host = await connect();
      try {
        const fail = await host.run({ argv: ['sh', '-c', 'echo oops >&2; exit 7'], timeoutMs: 10_000 }, hashingSink().sink);
        expect(fail.exitCode).toBe(7);
        expect(fail.stderrExcerpt).toBe('oops\n');

        const t0 = Date.now();
        const slow = await host.run({ argv: ['sleep', '30.271'], timeoutMs: 500 }, hashingSink().sink);
        expect(slow.timedOut).toBe(true);
        expect(slow.exitCode).toBeNull();
        expect(Date.now() - t0).toBeLessThan(10_000);

        const idle = await host.run(
          { argv: ['sh', '-c', 'echo first; sleep 30.271'], timeoutMs: 20_000, idleTimeoutMs: 400 },
          hashingSink().sink,
        );
        expect(idle.timedOut).toBe(true);
        expect(idle.stdoutBytes).toBe(6);

        const capped = hashingSink();
        const big = await host.run({ argv: ['head', '-c', '10000000', '/dev/zero'], timeoutMs: 20_000, maxBytes: 1000 }, capped.sink);
        expect(big.truncated).toBe(true);
        expect(capped.bytes()).toBe(1000);

        const ac = new AbortController();
        setTimeout(() => ac.abort(), 200);
        const aborted = await host.run({ argv: ['sleep', '30.271'], timeoutMs: 20_000, signal: ac.signal }, hashingSink().sink);
        expect(aborted.aborted).toBe(true);
        // The connection survives all of the above.
        const ok = await host.run({ argv: ['true'], timeoutMs: 5_000 }, hashingSink().sink);
        expect(ok.exitCode).toBe(0);
      } finally {
        await host.close();
      }
    });

    it('marks a command as connection-lost when the sshd session is killed mid-stream', async () => {
      const host = await connect();
      try {
        const s = hashingSink();
        const running = host.run({ argv: ['sh', '-c', 'head -c 1000; sleep 30.271'], timeoutMs: 30_000 }, s.sink);
        await new Promise((r) => setTimeout(r, 500));
        expect(sshd.killConnections()).toBeGreaterThan(0);
        const r = await running;
        expect(r.connectionLost).toBe(true);
        expect(r.exitCode).toBeNull();
        expect(host.connected).toBe(false);
      } finally {
        await host.close();
      }
    });

    it('fails fast with a clear error when nothing listens', async () => {
      const auth = await loadKeyAuth(client.privatePath, async () => undefined);
      const connector = createSshConnector({ auth, hostKeys: { kind: 'fingerprint', fingerprint: 'SHA256:x' } });
      const err = await connector
        .connect({ ...target, port: await freeLoopbackPort() })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SshConnectError);
      expect((err as Error).message).toContain('ECONNREFUSED');
    });
  },
);
