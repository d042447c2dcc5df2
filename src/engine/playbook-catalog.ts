import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from '../core/errors.js';
import type { ActivityRegistry } from './activity.js';
import type { PlaybookInvalidError} from './playbook-loader.js';
import { loadPlaybookFile, type LoadedPlaybook } from './playbook-loader.js';

/** The playbooks shipped with the package (src/engine and dist/engine are two levels below it). */
export function packagePlaybookDir(): string {
  return fileURLToPath(new URL('../../playbooks/', import.meta.url));
}

export interface CatalogEntry {
  file: string;
  /** Present when the file loaded. */
  loaded?: LoadedPlaybook;
  /** Present when it did not. */
  error?: PlaybookInvalidError | Error;
}

/** Every `*.yaml`/`*.yml` in the package dir and the extra dirs; later dirs win on id clashes. */
export async function listPlaybooks(registry: ActivityRegistry, extraDirs: string[] = []): Promise<CatalogEntry[]> {
  const entries: CatalogEntry[] = [];
  for (const dir of [packagePlaybookDir(), ...extraDirs]) {
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
    } catch (e) {
      if (dir === packagePlaybookDir()) throw e;
      throw new NotFoundError('playbook directory', dir, { hint: 'pass an existing directory to --dir.' });
    }
    for (const f of files) {
      const file = join(dir, f);
      try {
        entries.push({ file, loaded: await loadPlaybookFile(file, registry) });
      } catch (e) {
        entries.push({ file, error: e as Error });
      }
    }
  }
  return entries;
}

/** Find a playbook by id (or by file path). */
export async function findPlaybook(idOrPath: string, registry: ActivityRegistry, extraDirs: string[] = []): Promise<LoadedPlaybook> {
  if (/[/\\]|\.ya?ml$/.test(idOrPath)) return loadPlaybookFile(idOrPath, registry);
  const entries = await listPlaybooks(registry, extraDirs);
  const hit = [...entries].reverse().find((e) => e.loaded?.playbook.id === idOrPath);
  if (hit?.loaded) return hit.loaded;
  const broken = entries.find((e) => e.error && e.file.replace(/\.ya?ml$/, '').endsWith(idOrPath));
  if (broken?.error) throw broken.error;
  throw new NotFoundError('playbook', idOrPath, {
    suggestions: entries.flatMap((e) => (e.loaded ? [e.loaded.playbook.id] : [])),
    hint: '`tailnet-ir playbooks list` shows the playbooks found; add --dir for your own.',
  });
}
