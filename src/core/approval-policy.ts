import { z } from 'zod';

/**
 * Which approval gates pass without a person: the `approvals` section of tailnet-ir.yaml, or a
 * separate approval-policy file. First matching rule wins; a destructive step is automatic only
 * under a rule that names its step or action (the engine enforces that, see engine/approvers).
 */
export const approvalPolicySchema = z
  .object({
    /** What happens to a gate no rule matches. `auto` never applies to destructive steps. */
    default: z.enum(['manual', 'auto', 'deny']).default('manual'),
    rules: z
      .array(
        z
          .object({
            step: z.string().optional(),
            action: z.string().optional(),
            destructive: z.boolean().optional(),
            decision: z.enum(['manual', 'auto', 'deny']),
          })
          .strict()
          .refine((r) => r.step !== undefined || r.action !== undefined || r.destructive !== undefined, 'a rule needs step, action or destructive'),
      )
      .default([]),
  })
  .strict();

export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;
