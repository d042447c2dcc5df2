import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where runs live: `$TAILNET_IR_HOME`, else `$XDG_STATE_HOME/tailnet-ir`, else
 * `~/.local/state/tailnet-ir` (XDG base-directory defaults).
 */
export function resolveStateHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TAILNET_IR_HOME) return env.TAILNET_IR_HOME;
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'tailnet-ir');
  return join(env.HOME || homedir(), '.local', 'state', 'tailnet-ir');
}
