import type { Command } from 'commander';

export interface ResponseFlags {
  config?: string;
  playbook?: string;
  playbookDir?: string[];
  approve?: string;
  json?: boolean;
}

/** Options shared by respond, plan and resume. (A `_` file is a helper, not a command.) */
export function addResponseOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration (default: ./tailnet-ir.yaml, then $XDG_CONFIG_HOME/tailnet-ir/config.yaml)')
    .option('--playbook <id>', 'playbook id or file', 'node-compromise')
    .option('--playbook-dir <dir>', 'extra directory of playbooks (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'machine-readable output');
}
