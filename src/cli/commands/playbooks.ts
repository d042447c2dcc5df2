import type { Command } from 'commander';
import type { CommandSpec } from '../command-spec.js';
import { printReport } from '../output.js';

interface DirOpts {
  dir?: string[];
  json?: boolean;
}

const collect = (value: string, prior: string[] = []) => [...prior, value];
const impl = () => import('../../engine/playbook-commands.js');


const spec: CommandSpec = {
  name: 'playbooks',
  summary: 'List, show, validate and graph playbooks',
  configure(cmd: Command) {
    cmd.addHelpText(
      'after',
      '\nPlaybooks are read from the package playbooks/ directory and from every --dir.\n' +
        'Examples:\n  tailnet-ir playbooks list\n  tailnet-ir playbooks validate ./my-playbooks/*.yaml\n  tailnet-ir playbooks graph node-compromise > flow.mmd',
    );
    cmd
      .command('list')
      .description('List the playbooks found (invalid ones are shown with their first problem)')
      .option('--dir <dir>', 'also read playbooks from this directory (repeatable)', collect)
      .option('--json', 'machine-readable output')
      .action(async (opts: DirOpts) => printReport((await impl()).listCommand(opts), opts.json));
    cmd
      .command('show')
      .description('Show a playbook: inputs and steps with their actions, guards and gates')
      .argument('<playbook>', 'playbook id or path to a YAML file')
      .option('--dir <dir>', 'also read playbooks from this directory (repeatable)', collect)
      .option('--json', 'machine-readable output (the validated playbook)')
      .action(async (id: string, opts: DirOpts) => printReport((await impl()).showCommand(id, opts), opts.json));
    cmd
      .command('validate')
      .description('Validate playbooks (ids or files); every problem with file, line and field. Exit 2 if any is invalid')
      .argument('[playbooks...]', 'playbook ids or YAML files (default: every playbook found)')
      .option('--dir <dir>', 'also read playbooks from this directory (repeatable)', collect)
      .option('--json', 'machine-readable output')
      .action(async (ids: string[], opts: DirOpts) => printReport((await impl()).validateCommand(ids, opts), opts.json));
    cmd
      .command('schema')
      .description('Print the playbook JSON Schema (the package ships it as playbooks/schema.json)')
      .action(async () => printReport((await impl()).schemaCommand()));
    cmd
      .command('graph')
      .description('Print a playbook as a Mermaid stateDiagram-v2')
      .argument('<playbook>', 'playbook id or path to a YAML file')
      .option('--dir <dir>', 'also read playbooks from this directory (repeatable)', collect)
      .action(async (id: string, opts: DirOpts) => printReport((await impl()).graphCommand(id, opts)));
  },
};
export default spec;
