import type { CommandSpec } from '../command-spec.js';
import { addPlaybookOptions, addRebuildOptions, addResponseOptions, type ResponseFlags } from './_response-options.js';

const spec: CommandSpec = {
  name: 'plan',
  summary: "Print every step's plan for a response to DEVICE; changes nothing",
  configure(cmd) {
    addRebuildOptions(addPlaybookOptions(addResponseOptions(cmd)))
      .argument('<device>', 'the node: hostname, MagicDNS name, Tailscale IP or node id')
      .addHelpText('after', '\nOnly read-only API calls are made: the tailnet audit log is unchanged.\n\nExample:\n  tailnet-ir plan web-2 --config tailnet-ir.yaml\n')
      .action(async (device: string, opts: ResponseFlags) => (await import('../response-commands.js')).planCommand(device, opts));
  },
};
export default spec;
