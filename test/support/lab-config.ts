import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillLab } from '../../src/drill/drill-lab.js';

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
      `    ${device}: { address: 127.0.0.1, port: ${options.sshPort ?? lab.targetHost.port} }`,
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
