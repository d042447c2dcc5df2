import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDrillLab, type DrillLab } from '../../../src/drill/drill-lab.js';
import { loadScenario } from '../../../src/drill/sim/scenario.js';
import { TailscaleClient } from '../../../src/tailnet/tailscale-client.js';

let lab: DrillLab;
beforeAll(async () => {
  lab = await startDrillLab({ scenario: await loadScenario(), dir: mkdtempSync(join(tmpdir(), 'tnir-lab-')) });
});
afterAll(async () => lab.close());

describe('drill lab', () => {
  it('serves the scenario and maps the target to its simulated SSH host out of band', async () => {
    expect(lab.targetHostname).toBe('web-2');
    const api = new TailscaleClient({ baseUrl: lab.apiEnv.TAILSCALE_BASE_URL, tailnet: '-', credentials: { kind: 'api-key', apiKey: lab.apiEnv.TAILSCALE_API_KEY } });
    expect((await api.listDevices()).some((d) => d.hostname === 'web-2')).toBe(true);
    expect(lab.config.ssh.devices['web-2']).toEqual({ address: '127.0.0.1', port: lab.targetHost.port, path: 'out-of-band' });
  });

  it('writes a 0600 responder key and a known_hosts file pinning the simulated host', () => {
    expect(statSync(lab.identityFile).mode & 0o777).toBe(0o600);
    expect(statSync(lab.signingKeyFile).mode & 0o777).toBe(0o600);
    // The compromised host's key, and the rebuilt host's key pinned ahead of the rebuild.
    const lines = readFileSync(lab.knownHostsFile, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(lab.targetHost.knownHostsLine);
    expect(lines).toHaveLength(2);
    expect(lines[1]).not.toBe(lines[0]);
  });

  it('refuses a target that is not in the scenario', async () => {
    await expect(startDrillLab({ scenario: await loadScenario(), dir: mkdtempSync(join(tmpdir(), 'tnir-lab-')), target: 'ghost' })).rejects.toThrow(
      /device of scenario example-corp not found: "ghost"/,
    );
  });
});
