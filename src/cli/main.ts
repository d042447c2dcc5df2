#!/usr/bin/env node
import { readdir } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { toolVersion } from '../core/version.js';
import { ExitCode } from '../core/errors.js';
import type { CommandSpec } from './command-spec.js';
import { reportError } from './output.js';

const commandsDir = new URL('./commands/', import.meta.url);

async function loadCommandSpecs(): Promise<CommandSpec[]> {
  const files = (await readdir(commandsDir)).filter(
    (f) => (f.endsWith('.js') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))) && !f.startsWith('_'),
  );
  const specs = await Promise.all(
    files.map(async (f) => ((await import(new URL(f, commandsDir).href)) as { default: CommandSpec }).default),
  );
  return specs.sort((a, b) => a.name.localeCompare(b.name));
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('tailnet-ir')
    .description(
      'Incident response for Tailscale tailnets: quarantine a compromised node, prove it, ' +
        'contain its identity, collect signed evidence over SSH, and rebuild it.',
    )
    .version(toolVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const spec of await loadCommandSpecs()) {
    const cmd = program.command(spec.name).description(spec.summary);
    cmd.exitOverride();
    spec.configure(cmd);
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version "errors" are successful exits; the rest are usage errors.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return ExitCode.ok;
      return ExitCode.badInput;
    }
    return reportError(err, argv.includes('--json'));
  }
}

const code = await main(process.argv);
process.exitCode = code;
