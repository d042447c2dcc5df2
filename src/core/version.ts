import { readFileSync } from 'node:fs';

// src/core and dist/core are both two levels below the package root.
let cached: string | undefined;
export function toolVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    cached = pkg.version;
  }
  return cached;
}
