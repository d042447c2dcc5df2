/**
 * Remote commands travel over SSH as one string that the node's login shell parses. Every
 * argument is single-quoted so that nothing in it (values read from the node, container names,
 * operator input) can become shell syntax: `'` is the only character that needs care.
 */
export function quotePosixArg(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('a command argument cannot contain a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Build the remote command line from an argv array; the only way commands are built. */
export function commandLineFromArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('empty argv');
  return argv.map(quotePosixArg).join(' ');
}
