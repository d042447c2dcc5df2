import type { CommandSpec } from '../command-spec.js';
import { addResponseOptions, type ResponseFlags } from './_response-options.js';

const spec: CommandSpec = {
  name: 'resume',
  summary: 'Continue a paused or interrupted run without repeating what it already did',
  configure(cmd) {
    addResponseOptions(cmd)
      .argument('<run>', 'run id (see `tailnet-ir runs`)')
      .option('--approve <steps>', 'approve all, none, or a comma-separated list of step ids')
      .option('--evidence-override <reason>', 'allow delete/recreate without a verified evidence archive; the reason is journaled')
      .addHelpText('after', '\nExamples:\n  tailnet-ir resume 20261121-101858-35d562 --approve delete-device\n')
      .action(async (runId: string, opts: ResponseFlags & { evidenceOverride?: string }) => (await import('../response-commands.js')).resumeCommand(runId, opts));
  },
};
export default spec;
