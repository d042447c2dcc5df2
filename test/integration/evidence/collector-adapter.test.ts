/**
 * The engine's evidence port: a failed attempt keeps its archive and a resumed run collects
 * into a fresh one; seal signs; verify checks signature and hashes.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';
import { bundledCollectorsDir, loadCollectors } from '../../../src/evidence/collector-schema.js';
import { CollectionFailedError, createEvidenceCollector } from '../../../src/evidence/evidence-collector-adapter.js';
import { signerFromKeyFile } from '../../../src/evidence/signing-keys.js';
import { DRILL_NAMESPACE } from '../../../src/evidence/sshsig.js';
import type { Device } from '../../../src/tailnet/types.js';
import type { HostTarget, RemoteConnector } from '../../../src/evidence/remote-command.js';
import { fakeConnector } from '../../unit/evidence/support/fake-remote.js';


const device: Device = { id: '7', nodeId: 'nWEB2', addresses: ['100.64.0.7'], name: 'web-2.tail1.ts.net', hostname: 'web-2', user: 'alice@example.com', tags: ['tag:web'] };

describe('evidence collector adapter', () => {
  it('keeps a failed attempt and collects into a fresh archive on the next one; the result seals and verifies', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'tnir-adapter-'));
    const keyFile = join(runDir, 'sign_key');
    writeFileSync(keyFile, ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
    const collectors = [...(await loadCollectors(fileURLToPath(bundledCollectorsDir))).values()].filter((c) => c.id === 'host-triage');
    let hostUp = false;
    const { connector } = fakeConnector((argv) => ({ stdout: `output of ${argv.join(' ')}\n` }), { failConnect: () => (hostUp ? undefined : new Error('connect ECONNREFUSED')) });
    let tick = 0;
    const evidence = createEvidenceCollector({
      ssh: configSchema.parse({}).ssh,
      connector,
      collectors,
      runDir: () => runDir,
      signer: () => signerFromKeyFile(keyFile, async () => undefined),
      namespace: DRILL_NAMESPACE,
      operator: 'tester',
      now: () => new Date(Date.UTC(2026, 10, 21, 10, 0, tick++)),
    });
    const route = await evidence.routeFor(device);
    const request = { runId: 'r1', device, route, signal: new AbortController().signal, progress: () => undefined };
    await expect(evidence.collect(request)).rejects.toBeInstanceOf(CollectionFailedError);
    const afterFailure = readdirSync(join(runDir, 'evidence'));
    expect(afterFailure).toHaveLength(1);

    hostUp = true;
    const ok = await evidence.collect(request);
    expect(ok.artifacts).toBeGreaterThan(3);
    expect(readdirSync(join(runDir, 'evidence'))).toEqual(expect.arrayContaining(afterFailure));
    const sealed = await evidence.seal({ runId: 'r1', archivePath: ok.archivePath, journalPath: '', extraFiles: [] });
    expect(await evidence.verify(sealed)).toMatchObject({ ok: true });
  });

  it("plans the device's own jump host and collects through exactly that route", async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'tnir-adapter-jump-'));
    const collectors = [...(await loadCollectors(fileURLToPath(bundledCollectorsDir))).values()].filter((c) => c.id === 'host-triage');
    const { connector: fake } = fakeConnector((argv) => ({ stdout: `output of ${argv.join(' ')}\n` }));
    const targets: HostTarget[] = [];
    const connector: RemoteConnector = { connect: (target, signal) => (targets.push(target), fake.connect(target, signal)) };
    const ssh = configSchema.parse({
      ssh: { jump: 'ops@bastion.example.com', devices: { 'web-2': { address: '10.20.0.2', jump: 'jumper@[fd00::1]:2222' }, 'db-1': { address: '192.0.2.30', jump: 'none' } } },
    }).ssh;
    const evidence = createEvidenceCollector({ ssh, connector, collectors, runDir: () => runDir, signer: () => Promise.reject(new Error('unused')), namespace: DRILL_NAMESPACE, operator: 'tester' });

    const route = await evidence.routeFor(device);
    expect(route).toEqual({ address: '10.20.0.2', port: 22, user: 'root', path: 'out-of-band', via: 'jumper@[fd00::1]:2222', jump: { user: 'jumper', address: 'fd00::1', port: 2222 } });
    const db = { ...device, nodeId: 'nDB1', name: 'db-1.tail1.ts.net', hostname: 'db-1' };
    const direct = await evidence.routeFor(db);
    expect(direct).toEqual({ address: '192.0.2.30', port: 22, user: 'root', path: 'out-of-band' });

    const request = { runId: 'r1', signal: new AbortController().signal, progress: () => undefined };
    await evidence.collect({ ...request, device, route });
    await evidence.collect({ ...request, runId: 'r2', device: db, route: direct });
    // A plan journaled before routes carried `jump` names the jump host only as `via`.
    await evidence.collect({ ...request, runId: 'r3', device, route: { address: '10.20.0.2', path: 'out-of-band', via: 'ops@bastion.example.com:22' } });
    expect(targets.map((t) => t.jump)).toEqual([
      { user: 'jumper', address: 'fd00::1', port: 2222 },
      undefined,
      { user: 'ops', address: 'bastion.example.com', port: 22 },
    ]);
  });
});
