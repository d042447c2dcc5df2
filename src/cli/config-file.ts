import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { configSchema, defaultConfig, type Config, type SecretRef } from '../core/config.js';
import { InputFileError, UsageError } from '../core/errors.js';
import { parseLocatedYaml } from '../core/located-yaml.js';

export interface LoadedConfig {
  config: Config;
  /** The file read, or undefined when the defaults are in force. */
  file: string | undefined;
}

/**
 * Find and read the configuration: `--config FILE`, else `$TAILNET_IR_CONFIG`, else
 * `./tailnet-ir.yaml`, else `$XDG_CONFIG_HOME/tailnet-ir/config.yaml`; none → defaults.
 * A file named explicitly must exist; the implicit ones may not.
 */
export async function loadConfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const named = explicit ?? env.TAILNET_IR_CONFIG;
  if (named) return { config: await readConfigFile(named, true), file: named };
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  for (const candidate of ['tailnet-ir.yaml', join(configHome, 'tailnet-ir', 'config.yaml')]) {
    const config = await readConfigFile(candidate, false);
    if (config) return { config, file: candidate };
  }
  return { config: defaultConfig(), file: undefined };
}

async function readConfigFile(file: string, required: true): Promise<Config>;
async function readConfigFile(file: string, required: false): Promise<Config | undefined>;
async function readConfigFile(file: string, required: boolean): Promise<Config | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!required && code === 'ENOENT') return undefined;
    throw new InputFileError(file, `cannot read configuration: ${code ?? String(err)}`);
  }
  return parseLocatedYaml(text, file, configSchema);
}

/** Resolve a secret reference at the moment it is needed; the value is never stored. */
export async function readSecret(ref: SecretRef, what: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (ref.env) {
    const v = env[ref.env];
    if (!v) throw new UsageError(`${what}: environment variable ${ref.env} is not set`);
    return v;
  }
  try {
    return (await readFile(ref.file!, 'utf8')).trim();
  } catch (err) {
    throw new UsageError(`${what}: cannot read ${ref.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
