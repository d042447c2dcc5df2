import type { Command } from 'commander';

/**
 * One CLI command. Each lives in its own file under `src/cli/commands/` and is found by
 * directory listing, so adding a command touches no shared file. A command module must import
 * nothing heavy at the top level: `configure` declares options, and the action loads the
 * implementation with a dynamic `import()`, which keeps `tailnet-ir --help` fast.
 */
export interface CommandSpec {
  name: string;
  summary: string;
  configure(cmd: Command): void;
}
