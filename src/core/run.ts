import { z } from 'zod';

/** Lifecycle of a run, as recorded in `run.json`. */
export const runStatusSchema = z.enum(['running', 'paused', 'completed', 'aborted']);
export type RunStatus = z.output<typeof runStatusSchema>;

export const runIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{2,63}$/, 'a run id is letters, digits and hyphens');

/** `runs/<id>/run.json`: what `runs list|show` print without replaying the journal. */
export const runRecordSchema = z
  .object({
    id: runIdSchema,
    playbookId: z.string(),
    /** SHA-256 of the playbook text copied to `playbook.yaml`. */
    playbookSha256: z.string(),
    inputs: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
    status: runStatusSchema,
    /** Step the run is on (or stopped at). */
    currentStep: z.string().nullable(),
    /** Why it is paused or aborted; what to do next. */
    message: z.string().nullable(),
    toolVersion: z.string(),
  })
  .strict();

export type RunRecord = z.output<typeof runRecordSchema>;
