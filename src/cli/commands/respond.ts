import type { CommandSpec } from '../command-spec.js';
import { addPlaybookOptions, addRebuildOptions, addResponseOptions, type ResponseFlags } from './_response-options.js';

const spec: CommandSpec = {
  name: 'respond',
  summary: 'Respond to a compromised node: quarantine, prove, contain, collect evidence, rebuild',
  configure(cmd) {
    addRebuildOptions(addPlaybookOptions(addResponseOptions(cmd)))
      .argument('<device>', 'the node: hostname, MagicDNS name, Tailscale IP or node id')
      .option('--approve <steps>', 'approve all, none, or a comma-separated list of step ids; others follow the approval policy or pause')
      .addHelpText(
        'after',
        '\nCredentials: TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID + TAILSCALE_OAUTH_CLIENT_SECRET.\n' +
          'A gate nobody approved pauses the run (exit 5); approve and continue with `tailnet-ir resume RUN --approve STEP`.\n' +
          '\nExamples:\n  tailnet-ir respond web-2 --config tailnet-ir.yaml\n  tailnet-ir respond 100.64.0.6 --approve quarantine,verify-quarantine\n',
      )
      .action(async (device: string, opts: ResponseFlags) => (await import('../response-commands.js')).respondCommand(device, opts));
  },
};
export default spec;
