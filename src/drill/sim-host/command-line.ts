/**
 * Split a command line the way a POSIX shell splits words, for the simulated host only: single
 * quotes (with the `'\''` idiom), double quotes with backslash escapes, and bare words. Shell
 * operators are not interpreted: a line that uses them is answered as an unknown command.
 */
export function splitCommandLine(line: string): string[] | undefined {
  const argv: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      current += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1]!)) j++;
        current += line[j];
      }
      if (j >= line.length) return undefined;
      inWord = true;
      i = j;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (inWord) argv.push(current);
      current = '';
      inWord = false;
    } else if (';&|<>()`$'.includes(ch)) {
      return undefined;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) argv.push(current);
  return argv;
}
