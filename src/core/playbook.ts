import { z } from 'zod';

/**
 * The playbook format (YAML on disk). This schema is the single source of truth: the loader
 * validates against it and `playbooks/schema.json` is generated from it for editors.
 */

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'use lower-case letters, digits and hyphens, starting with a letter');

export const durationSchema = z
  .string()
  .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 500ms, 30s, 5m or 1h')
  .describe('Duration: a number followed by ms, s, m or h.');

export const inputSpecSchema = z
  .object({
    type: z.enum(['string', 'string-list', 'number', 'boolean']).describe('Value type of the input.'),
    description: z.string().min(1).describe('Shown in help and prompts.'),
    required: z.boolean().default(true).describe('Whether the run refuses to start without it.'),
    default: z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]).optional(),
  })
  .strict();

export const approvalModeSchema = z.enum(['required', 'auto']);

export const approvalSchema = z
  .union([
    approvalModeSchema,
    z
      .object({
        mode: approvalModeSchema,
        prompt: z.string().min(1).describe('What the approver is asked; may use ${…} references.'),
      })
      .strict(),
  ])
  .describe(
    'Approval gate before apply. Destructive actions always need approval, whatever this says.',
  );

export const retrySchema = z
  .object({
    attempts: z.number().int().min(1).max(10).describe('Total attempts including the first.'),
    backoff: durationSchema.default('2s').describe('Wait before the 2nd attempt; doubles each time.'),
  })
  .strict();

export const onFailureSchema = z
  .enum(['pause', 'skip', 'abort', 'compensate'])
  .describe(
    'After the last attempt fails: pause (resumable), skip to the next step, abort the run, or run the compensation step and abort.',
  );

const stepFields = {
  id: identifier.describe('Unique step id; referenced as steps.<id>.output in guards and params.'),
  action: z.string().min(1).describe('Name of a registered activity.'),
  description: z.string().optional(),
  params: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('Activity parameters. A string "${inputs.x}" or "${steps.y.output.z}" is replaced by that value.'),
  when: z
    .string()
    .min(1)
    .optional()
    .describe("Guard: the step runs only if true, e.g. \"steps.triage.output.identity.kind == 'user'\"."),
  skip_reason: z.string().min(1).optional().describe('Why the step is skipped when its guard is false, in words for the responder (plan, journal, report).'),
  approval: approvalSchema.default('auto'),
  timeout: durationSchema.optional().describe('Per-attempt time limit of apply.'),
  retry: retrySchema.optional(),
};

export const compensationStepSchema = z.object(stepFields).strict();

export const stepSchema = z
  .object({
    ...stepFields,
    on_failure: onFailureSchema.default('pause'),
    compensation: identifier.optional().describe('Id of an entry in `compensations` to run when on_failure is compensate.'),
  })
  .strict();

export const playbookSchema = z
  .object({
    id: identifier.describe('Playbook id, used with --playbook.'),
    version: z.literal(1).describe('Format version.'),
    description: z.string().min(1),
    inputs: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), inputSpecSchema).default({}),
    steps: z.array(stepSchema).min(1),
    compensations: z.array(compensationStepSchema).default([]),
  })
  .strict()
  .describe('A tailnet-ir playbook: steps run in order, each planned, approved and applied.');

export type Playbook = z.output<typeof playbookSchema>;
export type PlaybookStep = z.output<typeof stepSchema>;
export type CompensationStep = z.output<typeof compensationStepSchema>;
export type InputSpec = z.output<typeof inputSpecSchema>;
export type OnFailure = z.output<typeof onFailureSchema>;

/** Either kind of step: the machine treats both alike. */
export type AnyStep = PlaybookStep | CompensationStep;

export function approvalMode(step: AnyStep): 'required' | 'auto' {
  return typeof step.approval === 'string' ? step.approval : step.approval.mode;
}

export function approvalPrompt(step: AnyStep): string | undefined {
  return typeof step.approval === 'string' ? undefined : step.approval.prompt;
}

/** The JSON Schema editors use (`playbooks/schema.json`); input shape, so defaults are optional. */
export function playbookJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(playbookSchema, { io: 'input', target: 'draft-2020-12' }),
    $id: 'https://tailnet-ir.invalid/playbook.schema.json',
    title: 'tailnet-ir playbook',
  } as Record<string, unknown>;
}

/** What the plan, journal and report say about a step whose guard was false. */
export function skipReason(step: { when?: string | undefined; skip_reason?: string | undefined }): string {
  return step.skip_reason ? `${step.skip_reason} (guard: ${step.when ?? 'none'})` : `guard is false: ${step.when ?? 'none'}`;
}
