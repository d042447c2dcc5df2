import type { Command } from 'commander';
import type { CommandSpec } from '../command-spec.js';

const spec: CommandSpec = {
  name: 'runs',
  summary: 'List runs and show one run: status, step states, journal health',
  configure(cmd: Command) {
    cmd.addHelpText('after', '\nRuns live under $TAILNET_IR_HOME (default $XDG_STATE_HOME/tailnet-ir or ~/.local/state/tailnet-ir).');
    cmd
      .command('list', { isDefault: true })
      .description('List runs (default)')
      .option('--json', 'machine-readable output')
      .action(async (opts: { json?: boolean }) => (await import('../../engine/run-commands.js')).runsListCommand(opts));
    cmd
      .command('show')
      .description('Show a run: status, every step with its latest state, journal chain check')
      .argument('<run>', 'run id')
      .option('--json', 'machine-readable output')
      .action(async (id: string, opts: { json?: boolean }) => (await import('../../engine/run-commands.js')).runsShowCommand(id, opts));
  },
};
export default spec;
