import type { Command } from 'commander';
import type { CommandSpec } from '../command-spec.js';

const spec: CommandSpec = {
  name: 'journal',
  summary: "Check a run's hash-chained journal",
  configure(cmd: Command) {
    cmd
      .command('verify')
      .description('Verify the hash chain of a run journal; names the first broken entry. Exit 1 if broken')
      .argument('<run>', 'run id')
      .option('--json', 'machine-readable output')
      .action(async (id: string, opts: { json?: boolean }) => {
        const { journalVerifyCommand } = await import('../../engine/run-commands.js');
        const { emit } = await import('../output.js');
        const r = await journalVerifyCommand(id);
        emit(opts.json, r.data, r.human);
        if (r.exitCode) process.exitCode = r.exitCode;
      });
  },
};
export default spec;
