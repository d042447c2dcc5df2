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
        const [{ journalVerifyCommand }, { printReport }] = await Promise.all([import('../../engine/run-commands.js'), import('../output.js')]);
        await printReport(journalVerifyCommand(id), opts.json);
      });
  },
};
export default spec;
