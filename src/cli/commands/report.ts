import type { Command } from 'commander';
import type { CommandSpec } from '../command-spec.js';

const spec: CommandSpec = {
  name: 'report',
  summary: "Write a run's incident report: timeline, actions, approvals, policy, identity, evidence (Markdown, HTML or JSON)",
  configure(cmd: Command) {
    cmd
      .argument('<run>', 'run id (`tailnet-ir runs list` shows them)')
      .option('--format <format>', 'md (default), html (one self-contained page) or json; default from the --out extension')
      .option('--out <file>', 'write to this file (atomically, mode 0600) instead of stdout')
      .option('--json', 'same as --format json')
      .addHelpText(
        'after',
        `
The report is built from the run directory alone (journal, report.json, policy texts, the
evidence archive's manifest and signature); nothing is sent anywhere. It can be produced for a
run that is paused, aborted or still running. Names from the tailnet or the node are escaped,
and secrets are masked.

Exit codes: 0 written · 1 written, but the journal's hash chain is broken (the report says where)
            2 unknown run or bad option

Examples:
  tailnet-ir report 20260301-100000-a1b2c3                      # Markdown to stdout
  tailnet-ir report 20260301-100000-a1b2c3 --out incident.html  # self-contained HTML page
  tailnet-ir report 20260301-100000-a1b2c3 --format json | jq .todo
  TAILNET_IR_HOME=/srv/ir tailnet-ir report 20260301-100000-a1b2c3 --format md --out INC-42.md`,
      )
      .action(async (run: string, opts: { format?: string; out?: string; json?: boolean }) => (await import('../../report/report-command.js')).reportCommand(run, opts));
  },
};
export default spec;
