import type { CommandSpec } from '../command-spec.js';
import { parseTags } from './_response-options.js';

interface DrillCliOptions {
  scenario?: string;
  target?: string;
  approve?: string;
  playbook?: string;
  dir?: string;
  json?: boolean;
  rebuildTags?: string[];
}

const spec: CommandSpec = {
  name: 'drill',
  summary: 'Run the node-compromise playbook against a simulated tailnet and host, then score it',
  configure(cmd) {
    cmd
      .argument('[scenario]', 'scenario file (default: the built-in Example Corp tailnet)')
      .option('--target <device>', "device to respond to (default: the scenario's drill.target)")
      .option('--playbook <id>', 'playbook id or file', 'node-compromise')
      .option('--approve <steps>', 'approve all, none, or a comma-separated list of step ids (an unapproved gate ends the drill there)', 'all')
      .option('--rebuild-tags <tags>', 'tags for the rebuilt device; with them a user-owned device is rebuilt too (e.g. tag:workstation)', parseTags)
      .option('--dir <dir>', 'where to keep the drill (lab keys, runs, evidence); default under the state directory')
      .option('--json', 'print the outcome and scorecard as JSON')
      .addHelpText(
        'after',
        '\nA drill uses the same engine, Tailscale API client, SSH client and evidence pipeline as a real\n' +
          'response, against an in-process simulated tailnet (HTTP on loopback) and a simulated host\n' +
          '(SSH on loopback). Evidence is signed in the tailnet-ir-drill namespace, so it never verifies as real.\n' +
          '\nExamples:\n  tailnet-ir drill\n  tailnet-ir drill --target bob-laptop\n  tailnet-ir drill --target bob-laptop --rebuild-tags tag:workstation\n  tailnet-ir drill my-scenario.yaml --approve quarantine,verify-quarantine\n',
      )
      .action(async (scenario: string | undefined, opts: DrillCliOptions) => {
        const { runDrillCommand } = await import('../drill-command.js');
        await runDrillCommand(scenario, opts);
      });
  },
};
export default spec;
