import { InvalidArgumentError, Option, type Command } from 'commander';

/** The parsed flags (a type-only import: the command module is still loaded lazily). */
export type { ResponseCliOptions as ResponseFlags } from '../response-commands.js';

/** Options shared by respond, plan and resume. (A `_` file is a helper, not a command.) */
export function addResponseOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration (default: ./tailnet-ir.yaml, then $XDG_CONFIG_HOME/tailnet-ir/config.yaml)')
    .option('--json', 'machine-readable output');
}

/** Which playbook to start (respond and plan; a resumed run keeps the copy it started with). */
export function addPlaybookOptions(cmd: Command): Command {
  return cmd
    .option('--playbook <id>', 'playbook id or file', 'node-compromise')
    .option('--playbook-dir <dir>', 'extra directory of playbooks (repeatable)', (v: string, prev: string[] = []) => [...prev, v]);
}

/** How the rebuilt device is enrolled (respond and plan; a resumed run keeps its inputs). */
export function addRebuildOptions(cmd: Command): Command {
  return cmd
    .option('--rebuild-tags <tags>', 'tags for the rebuilt device, comma-separated (default: rebuild.tags, else the old tags; needed to rebuild a user-owned device)', parseTags)
    .addOption(new Option('--rebuild-method <method>', 'how the rebuilt host gets its key (default: as tailnet-ir.yaml says for the device)').choices(['ssh', 'sidecar', 'manual']));
}

export function parseTags(value: string): string[] {
  const tags = value.split(',').map((t) => t.trim()).filter(Boolean);
  const bad = tags.filter((t) => !/^tag:[A-Za-z0-9-]+$/.test(t));
  if (!tags.length || bad.length) throw new InvalidArgumentError(`expected tags like tag:web,tag:prod${bad.length ? `; not a tag: ${bad.join(', ')}` : ''}`);
  return tags;
}
