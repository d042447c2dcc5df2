import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDrillLab, type DrillLab } from '../../src/drill/drill-lab.js';
import { loadScenario } from '../../src/drill/sim/scenario.js';

/**
 * A tailnet-ir.yaml for the lab's simulated host; quarantine and its verification are automatic.
 * `sshPort` overrides where SSH is expected (e.g. a closed port: the host is unreachable).
 */
export function writeLabConfig(lab: DrillLab, device = 'web-2', options: { sshPort?: number } = {}): string {
  const file = join(lab.dir, 'tailnet-ir.yaml');
  writeFileSync(
    file,
    [
      'responders: [group:incident-response]',
      'highRiskResources: ["prod-db:5432"]',
      'ssh:',
      '  user: root',
      `  identityFile: ${lab.identityFile}`,
      `  knownHosts: ${lab.knownHostsFile}`,
      '  devices:',
      // As the lab says: a user's laptop is reached over the tailnet (cut when its owner is suspended).
      `    ${device}: { address: 127.0.0.1, port: ${options.sshPort ?? lab.targetHost.port}, path: ${lab.config.ssh.devices[lab.targetHostname]?.path ?? 'out-of-band'} }`,
      'evidence:',
      `  signingKey: ${lab.signingKeyFile}`,
      'approvals:',
      '  default: manual',
      '  rules: [{ step: quarantine, decision: auto }]',
      '',
    ].join('\n'),
  );
  return file;
}

export interface ConfiguredLab {
  lab: DrillLab;
  configFile: string;
  /** Environment for the CLI: the simulator's URL and token, a fresh state home, no agent. */
  env: NodeJS.ProcessEnv;
}

/** A drill lab, a config file for it and the CLI environment, for tests that run the real CLI. */
export async function startConfiguredLab(prefix: string): Promise<ConfiguredLab> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const lab = await startDrillLab({ scenario: await loadScenario(), dir });
  return { lab, configFile: writeLabConfig(lab), env: { ...process.env, ...lab.apiEnv, TAILNET_IR_HOME: join(dir, 'home'), SSH_AUTH_SOCK: '', NO_COLOR: '1' } };
}
