import type { CommandSpec } from '../command-spec.js';

const spec: CommandSpec = {
  name: 'version',
  summary: 'Print the tool version and runtime (also: --version)',
  configure(cmd) {
    cmd.option('--json', 'machine-readable output').action(async (opts: { json?: boolean }) => {
      const { toolVersion } = await import('../../core/version.js');
      const { emit } = await import('../output.js');
      const info = { version: toolVersion(), node: process.version, platform: `${process.platform}-${process.arch}` };
      emit(opts.json, info, () => `tailnet-ir ${info.version} (node ${info.node}, ${info.platform})`);
    });
  },
};
export default spec;
