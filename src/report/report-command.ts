/** Implementation of `tailnet-ir report RUN` (loaded lazily by the CLI). */
import { extname, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { createSystemClock } from '../core/clock.js';
import { ExitCode, UsageError } from '../core/errors.js';
import { RunStore } from '../engine/run-store.js';
import { resolveStateHome } from '../engine/state-dir.js';
import { writeFileAtomic } from '../engine/atomic-file.js';
import { buildRunReport } from './build-run-report.js';
import { loadRunReportSources } from './load-run-report.js';
import { renderRunReport, type ReportFormat } from './render-report.js';

export interface ReportCommandOptions {
  format?: string;
  out?: string;
  /** Shorthand for `--format json`. */
  json?: boolean;
}

const FORMATS: Record<string, ReportFormat> = { md: 'md', markdown: 'md', html: 'html', htm: 'html', json: 'json' };

/** `--format`, else the `--out` file's extension, else Markdown. */
export function chooseFormat(opts: ReportCommandOptions): ReportFormat {
  if (opts.json) {
    if (opts.format && FORMATS[opts.format.toLowerCase()] !== 'json') throw new UsageError(`--json and --format ${opts.format} contradict each other`, { hint: 'pass one of them.' });
    return 'json';
  }
  if (opts.format) {
    const f = FORMATS[opts.format.toLowerCase()];
    if (!f) throw new UsageError(`unknown report format ${JSON.stringify(opts.format)}`, { hint: 'use --format md, html or json.' });
    return f;
  }
  const ext = opts.out ? extname(opts.out).slice(1).toLowerCase() : '';
  return FORMATS[ext] ?? 'md';
}

export async function reportCommand(runId: string, opts: ReportCommandOptions): Promise<void> {
  const format = chooseFormat(opts);
  const store = new RunStore(resolveStateHome(), createSystemClock());
  const report = buildRunReport(await loadRunReportSources(store, runId, new Date()));
  const text = renderRunReport(report, format);
  if (opts.out) {
    const path = resolve(opts.out);
    const dir = resolve(path, '..');
    const dirOk = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!dirOk) throw new UsageError(`cannot write ${path}: ${dir} is not a directory`, { hint: 'create the directory first, or pick another --out; nothing was written.' });
    await writeFileAtomic(path, text);
    process.stderr.write(`wrote the ${format} report of run ${runId} to ${path} (${Buffer.byteLength(text)} bytes)\n`);
  } else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  if (!report.integrity.ok) {
    process.stderr.write(
      `warning: the journal of ${runId} is broken at line ${report.integrity.firstBroken?.line ?? '?'}; the report says so, but its facts after that line are unverified (exit 1)\n`,
    );
    process.exitCode = ExitCode.checkFailed;
  }
}
