/**
 * What a command implementation returns: data for `--json`, a human rendering, and the exit
 * code when the command ran but its check failed. The CLI layer prints it; implementations
 * never write to stdout themselves, so they can be called from tests and other front ends.
 */
export interface CommandReport {
  data: unknown;
  human: () => string;
  exitCode?: number;
}
