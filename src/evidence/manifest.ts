/**
 * manifest.json: the chain-of-custody record inside every evidence archive. Validated with zod
 * when read back, because a manifest in a tampered archive is as hostile as anything else.
 */
import { z } from 'zod';

export const MANIFEST_SCHEMA = 'tailnet-ir/evidence-manifest@1';
export const MANIFEST_PATH = 'manifest.json';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const artifactRecordSchema = z.object({
  path: z.string(),
  host: z.string(),
  collector: z.string(),
  name: z.string(),
  sha256: sha256Hex,
  bytes: z.number().int().nonnegative(),
  argv: z.array(z.string()),
  startedAt: z.string(),
  endedAt: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  stderrExcerpt: z.string(),
  truncated: z.boolean(),
  partial: z.boolean(),
  timedOut: z.boolean(),
  sensitive: z.boolean(),
  redacted: z.boolean(),
  error: z.string().optional(),
});
export type ArtifactRecord = z.infer<typeof artifactRecordSchema>;

export const attachmentRecordSchema = z.object({ path: z.string(), sha256: sha256Hex, bytes: z.number().int().nonnegative() });
export type AttachmentRecord = z.infer<typeof attachmentRecordSchema>;

export const hostRecordSchema = z.object({
  label: z.string(),
  address: z.string(),
  port: z.number().int(),
  user: z.string(),
  hostKeyFingerprint: z.string().nullable(),
  hostKeyType: z.string().nullable(),
  jump: z.object({ address: z.string(), port: z.number().int(), user: z.string(), hostKeyFingerprint: z.string() }).optional(),
  connected: z.boolean(),
  reconnects: z.number().int().nonnegative(),
  error: z.string().optional(),
  /** Machine-readable kind of `error` (e.g. host-key-rejected, ssh-connect). */
  errorCode: z.string().optional(),
});
export type HostRecord = z.infer<typeof hostRecordSchema>;

export const collectorOutcomeSchema = z.object({
  host: z.string(),
  collector: z.string(),
  status: z.enum(['ok', 'partial', 'failed', 'skipped']),
  reason: z.string().optional(),
});
export type CollectorOutcome = z.infer<typeof collectorOutcomeSchema>;

export const manifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  runId: z.string(),
  caseId: z.string().optional(),
  operator: z.string(),
  tool: z.object({ name: z.literal('tailnet-ir'), version: z.string() }),
  namespace: z.string(),
  startedAt: z.string(),
  completedAt: z.string(),
  target: z.object({
    deviceId: z.string().optional(),
    name: z.string().optional(),
    addresses: z.array(z.string()).default([]),
  }),
  hosts: z.array(hostRecordSchema),
  collectors: z.array(collectorOutcomeSchema),
  artifacts: z.array(artifactRecordSchema),
  /** Artifacts deliberately not collected (condition false, sensitive, aborted), with why. */
  skipped: z.array(z.object({ host: z.string(), collector: z.string(), name: z.string(), reason: z.string() })).default([]),
  aborted: z.boolean().default(false),
  /** Files the engine adds next to the evidence (journal.jsonl, policy/…), hashed the same way. */
  attachments: z.array(attachmentRecordSchema).default([]),
});
export type EvidenceManifest = z.infer<typeof manifestSchema>;
