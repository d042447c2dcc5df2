import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, readSecret } from '../../../src/cli/config-file.js';

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tnir-config-'));
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const noImplicit = { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'tnir-xdg-')) };

describe('loadConfig', () => {
  it('uses defaults when no file exists', async () => {
    const { config, file } = await loadConfig(undefined, noImplicit);
    expect(file).toBeUndefined();
    expect(config.responders).toEqual(['group:incident-response']);
    expect(config.approvals.default).toBe('manual');
    expect(config.ssh.connectTimeout).toBe(15_000);
  });

  it('reads a file, converting durations and keeping per-device addresses', async () => {
    const f = tempFile(
      'c.yaml',
      'responders: [group:ir, carol@example.com]\nhighRiskResources: ["tag:db:5432"]\nssh:\n  connectTimeout: 5s\n  devices:\n    bob-laptop: { address: 192.0.2.10 }\napprovals:\n  rules: [{ step: quarantine, decision: auto }]\n',
    );
    const { config } = await loadConfig(f, noImplicit);
    expect(config.responders).toEqual(['group:ir', 'carol@example.com']);
    expect(config.ssh.connectTimeout).toBe(5000);
    expect(config.ssh.devices['bob-laptop']).toEqual({ address: '192.0.2.10', port: 22, path: 'out-of-band' });
    expect(config.approvals.rules).toEqual([{ step: 'quarantine', decision: 'auto' }]);
  });

  it('names file, line and field on a bad value', async () => {
    const f = tempFile('c.yaml', 'responders: [group:ir]\nhighRiskResources:\n  - db-without-port\n');
    await expect(loadConfig(f, noImplicit)).rejects.toThrow(`${f} (line 3, field highRiskResources[0]): host:port`);
  });

  it('names the device entry of a bad per-device jump host', async () => {
    const f = tempFile('c.yaml', 'ssh:\n  jump: ops@bastion:2222\n  devices:\n    web-2:\n      address: 10.20.0.2\n      jump: ops@bastion:22:22\n');
    await expect(loadConfig(f, noImplicit)).rejects.toThrow(`${f} (line 6, field ssh.devices.web-2.jump): USER@HOST[:PORT]`);
  });

  it('refuses a secret written inline', async () => {
    const f = tempFile('c.yaml', 'pager:\n  opsgenie:\n    secret: { value: hunter2 }\n');
    await expect(loadConfig(f, noImplicit)).rejects.toThrow(/field pager\.opsgenie\.secret/);
  });

  it('an explicitly named file must exist', async () => {
    await expect(loadConfig('/nonexistent/tailnet-ir.yaml', noImplicit)).rejects.toThrow(/cannot read configuration: ENOENT/);
  });
});

describe('readSecret', () => {
  it('reads from the environment or a file, and says which is missing', async () => {
    expect(await readSecret({ env: 'X_SECRET' }, 'webhook', { X_SECRET: 's3' })).toBe('s3');
    expect(await readSecret({ file: tempFile('s', 'from-file\n') }, 'webhook')).toBe('from-file');
    await expect(readSecret({ env: 'MISSING_ONE' }, 'PagerDuty secret', {})).rejects.toThrow('PagerDuty secret: environment variable MISSING_ONE is not set');
  });
});
