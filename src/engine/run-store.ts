import { access, mkdir, readFile, readdir } from 'node:fs/promises';
import { join, normalize, isAbsolute, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NotFoundError, UsageError, InputFileError } from '../core/errors.js';
import { runIdSchema, runRecordSchema, type RunRecord } from '../core/run.js';
import type { Clock } from '../core/clock.js';
import { writeFileAtomic, fsyncDir } from './atomic-file.js';
import { Journal, type JournalFaults } from './journal.js';
import { RunLock } from './run-lock.js';
import type { ArtifactStore } from './ports.js';

/** Fault hooks for crash tests; production passes none. */
export type StoreFaults = JournalFaults;

/**
 * Runs on disk:
 *   <home>/runs/<id>/run.json        summary (atomic)
 *                    playbook.yaml   the playbook as started (resume uses this copy)
 *                    snapshot.json   xstate persisted snapshot (atomic, after every transition)
 *                    journal.jsonl   append-only, hash-chained, fsync'd
 *                    lock            pid of the process driving the run
 *                    policy/ triage/ audit/ …  artifacts (atomic)
 */
export class RunStore {
  constructor(
    readonly home: string,
    private readonly clock: Clock,
    private readonly faults: StoreFaults = {},
  ) {}

  runsDir(): string {
    return join(this.home, 'runs');
  }

  runDir(id: string): string {
    return join(this.runsDir(), runIdSchema.parse(id));
  }

  newRunId(): string {
    const t = this.clock.now().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    return `${t}-${randomBytes(3).toString('hex')}`;
  }

  /** Create the run directory with its playbook copy and record; returns it locked. */
  async create(record: RunRecord, playbookSource: string): Promise<RunHandle> {
    await mkdir(this.runsDir(), { recursive: true, mode: 0o700 });
    const dir = this.runDir(record.id);
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`run ${record.id} already exists`, { hint: 'resume it instead, or pick another run id.' });
      throw e;
    }
    await fsyncDir(this.runsDir());
    await writeFileAtomic(join(dir, 'playbook.yaml'), playbookSource);
    await writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
    return this.open(record.id);
  }

  /** Open an existing run and take its lock. */
  async open(id: string): Promise<RunHandle> {
    const dir = this.runDir(id);
    await this.readRecord(id); // NotFound early, before locking
    const lock = await RunLock.acquire(dir, this.clock.now());
    try {
      const journal = await Journal.open(join(dir, 'journal.jsonl'), this.clock, this.faults);
      return new RunHandle(id, dir, journal, lock, this.faults);
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  async readRecord(id: string): Promise<RunRecord> {
    if (!runIdSchema.safeParse(id).success) throw new UsageError(`${JSON.stringify(id)} is not a run id`, { hint: '`tailnet-ir runs list` shows the runs.' });
    const file = join(this.runDir(id), 'run.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError('run', id, { suggestions: (await this.listIds()).filter((r) => r.includes(id.slice(0, 8))).slice(0, 3), hint: '`tailnet-ir runs list` shows the runs.' });
      throw e;
    }
    const parsed = runRecordSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new InputFileError(file, `not a run record: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  async listIds(): Promise<string[]> {
    try {
      return (await readdir(this.runsDir(), { withFileTypes: true }))
        .filter((d) => d.isDirectory() && runIdSchema.safeParse(d.name).success)
        .map((d) => d.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async list(): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    for (const id of await this.listIds()) {
      try {
        out.push(await this.readRecord(id));
      } catch {
        // a run directory without a readable record (created mid-crash) is not listed
      }
    }
    return out;
  }

  journalPath(id: string): string {
    return join(this.runDir(id), 'journal.jsonl');
  }
}

/** An open, locked run. */
export class RunHandle {
  constructor(
    readonly id: string,
    readonly dir: string,
    readonly journal: Journal,
    private readonly lock: RunLock,
    private readonly faults: StoreFaults,
  ) {}

  async readPlaybookSource(): Promise<string> {
    return readFile(join(this.dir, 'playbook.yaml'), 'utf8');
  }

  async readRecord(): Promise<RunRecord> {
    return runRecordSchema.parse(JSON.parse(await readFile(join(this.dir, 'run.json'), 'utf8')));
  }

  async writeRecord(record: RunRecord): Promise<void> {
    this.assertAlive();
    await writeFileAtomic(join(this.dir, 'run.json'), `${JSON.stringify(runRecordSchema.parse(record), null, 2)}\n`);
  }

  async updateRecord(patch: Partial<RunRecord>, now: Date): Promise<RunRecord> {
    const next = { ...(await this.readRecord()), ...patch, updatedAt: now.toISOString() };
    await this.writeRecord(next);
    return next;
  }

  async writeSnapshot(snapshot: unknown): Promise<void> {
    this.assertAlive();
    await writeFileAtomic(join(this.dir, 'snapshot.json'), JSON.stringify(snapshot));
  }

  async readSnapshot(): Promise<unknown | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, 'snapshot.json'), 'utf8')) as unknown;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  artifacts(): ArtifactStore {
    return {
      write: async (name, content) => {
        this.assertAlive();
        const path = this.artifactPath(name);
        await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
        await writeFileAtomic(path, content);
        return path;
      },
      read: async (name) => {
        try {
          return await readFile(this.artifactPath(name), 'utf8');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw e;
        }
      },
      pathOf: async (name) => {
        const path = this.artifactPath(name);
        try {
          await access(path);
          return path;
        } catch {
          return undefined;
        }
      },
      journalPath: () => this.journal.path,
    };
  }

  /** Artifact names are ours, but refuse anything that could leave the run directory. */
  private artifactPath(name: string): string {
    const rel = normalize(name);
    if (isAbsolute(rel) || rel.startsWith('..') || rel.split(sep).includes('..') || !/^[A-Za-z0-9._/-]+$/.test(name))
      throw new Error(`bad artifact name ${JSON.stringify(name)}`);
    return join(this.dir, rel);
  }

  private assertAlive(): void {
    if (this.faults.halted?.()) throw new Error('simulated crash: store halted');
  }

  async close(): Promise<void> {
    await this.journal.close();
    await this.lock.release();
  }
}
