import { z } from 'zod';
import { defineActivity } from '../activity.js';
import { dirname } from 'node:path';
import { toJsonValue } from '../../core/json.js';
import { buildRunReport } from '../../report/build-run-report.js';
import { loadRunReportSourcesFromDir } from '../../report/load-run-report.js';
import { renderRunReport } from '../../report/render-report.js';

/**
 * Write `report.json`: every step's output, as the report renderers' input. (Markdown/HTML
 * rendering belongs to the report module; this keeps the run's facts in one file.)
 */
export const writeReport = defineActivity({
  name: 'write-report',
  summary: "Write the run's report data (report.json)",
  mutates: false,
  destructive: false,
  params: z.object({}).strict(),
  async plan(ctx) {
    return { action: this.name, stepId: ctx.stepId, summary: ['write report.json'], mutations: [], destructive: false, warnings: [], data: null };
  },
  async apply(_plan, ctx) {
    const report = { runId: ctx.runId, writtenAt: ctx.ports.clock.now().toISOString(), inputs: ctx.inputs, steps: ctx.outputs };
    const path = await ctx.ports.artifacts.write('report.json', `${JSON.stringify(report, null, 2)}\n`);
    // The people-facing report, from the journal so far (the step itself shows as finishing).
    const sources = { ...(await loadRunReportSourcesFromDir(dirname(ctx.ports.artifacts.journalPath()), ctx.runId, ctx.ports.clock.now())), writtenByStep: ctx.stepId };
    const rr = buildRunReport(sources);
    const markdown = await ctx.ports.artifacts.write('report.md', renderRunReport(rr, 'md'));
    const html = await ctx.ports.artifacts.write('report.html', renderRunReport(rr, 'html'));
    return toJsonValue({ path, markdown, html });
  },
  async check() {
    return { done: false, detail: 're-written' };
  },
});
