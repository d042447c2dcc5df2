import type { Command } from 'commander';
import type { CommandSpec } from '../command-spec.js';
import { printReport } from '../output.js';

const impl = () => import('../../engine/run-commands.js');


const spec: CommandSpec = {
  name: 'runs',
  summary: 'List runs and show one run: status, step states, journal health',
  configure(cmd: Command) {
    cmd.addHelpText('after', '\nRuns live under $TAILNET_IR_HOME (default $XDG_STATE_HOME/tailnet-ir or ~/.local/state/tailnet-ir).');
    cmd
      .command('list', { isDefault: true })
      .description('List runs (default)')
      .option('--json', 'machine-readable output')
      .action(async (opts: { json?: boolean }) => printReport((await impl()).runsListCommand(), opts.json));
    cmd
      .command('show')
      .description('Show a run: status, every step with its latest state, the plan waiting for approval, journal chain check')
      .argument('<run>', 'run id')
      .option('--json', 'machine-readable output')
      .action(async (id: string, opts: { json?: boolean }) => printReport((await impl()).runsShowCommand(id), opts.json));
  },
};
export default spec;
