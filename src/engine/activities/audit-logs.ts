import { z } from 'zod';
import { defineActivity, noChangePlan } from '../activity.js';
import { durationSchema } from '../../core/playbook.js';
import { parseDuration } from '../../core/clock.js';

/**
 * Fetch the tailnet configuration audit log for the incident window into the run directory
 * (the evidence sealer adds it to the archive). Read-only, so re-run on resume.
 */
export const fetchAuditLogs = defineActivity({
  name: 'fetch-audit-logs',
  summary: 'Save the tailnet configuration audit log for the incident window',
  mutates: false,
  destructive: false,
  params: z
    .object({
      /** Start the window this long before the run began (default 72h). */
      lookback: durationSchema.default('72h'),
    })
    .strict(),
  async plan(ctx) {
    const end = ctx.ports.clock.now();
    const start = new Date(end.getTime() - parseDuration(ctx.params.lookback));
    return noChangePlan(this.name, ctx.stepId, [`fetch configuration audit log ${start.toISOString()} … ${end.toISOString()}`], {
      start: start.toISOString(),
      end: end.toISOString(),
    });
  },
  async apply(plan, ctx) {
    const log = await ctx.ports.tailnet.getConfigurationAuditLog({ start: plan.data.start, end: plan.data.end });
    const path = await ctx.ports.artifacts.write('audit/configuration-log.json', JSON.stringify(log, null, 2));
    return { path, events: log.logs.length, start: plan.data.start, end: plan.data.end };
  },
  async check() {
    return { done: false, detail: 'read-only: re-run' };
  },
});
