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
});
