import type { CommandSpec } from '../command-spec.js';

const spec: CommandSpec = {
  name: 'release',
  summary: "Lift exactly the quarantine edits a run made (others' later edits are kept)",
  configure(cmd) {
    cmd
      .argument('<run>', 'run id (see `tailnet-ir runs`)')
      .option('--config <file>', 'configuration file')
      .option('--dry-run', 'print the release plan and change nothing')
      .option('--json', 'machine-readable output')
      .addHelpText(
        'after',
        '\nThe node gets its old tags back first (a formerly user-owned node cannot be untagged through the API:\n' +
          're-authenticate or delete it), then the marked policy regions are removed with If-Match.\n' +
          'If someone edited inside our regions, nothing is changed and the conflict is reported (exit 4).\n' +
          '\nExamples:\n  tailnet-ir release 20261121-101858-35d562 --dry-run\n  tailnet-ir release 20261121-101858-35d562\n',
      )
      .action(async (runId: string, opts: { config?: string; dryRun?: boolean; json?: boolean }) => (await import('../release-command.js')).releaseCommand(runId, opts));
  },
};
export default spec;
