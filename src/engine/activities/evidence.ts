import { z } from 'zod';
import { defineActivity } from '../activity.js';
import { CheckFailedError } from '../../core/errors.js';
import { toJsonValue } from '../../core/json.js';
import type { ArtifactStore, CollectionRoute } from '../ports.js';

/**
 * Collect evidence over SSH. Read-only on the node, so a resumed run collects again into a
 * fresh archive (the evidence port names each attempt's archive apart and keeps earlier ones)
 * rather than trusting a half-written one.
 */
export const collectEvidence = defineActivity({
  name: 'collect-evidence',
  summary: 'Collect evidence from the node over SSH into a streaming archive',
  mutates: false,
  destructive: false,
  params: z.object({ deviceId: z.string().min(1) }).strict(),
  async plan(ctx) {
    const device = await ctx.ports.tailnet.getDevice(ctx.params.deviceId);
    const route = await ctx.ports.evidence.routeFor(device);
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: [`collect evidence from ${device.hostname} over SSH to ${route.address} (${route.path}${route.via ? `, via ${route.via}` : ', direct'})`],
      mutations: [],
      destructive: false,
      warnings: [],
      data: toJsonValue({ deviceId: device.nodeId, route }),
    };
  },
  async apply(plan, ctx) {
    const data = plan.data as { deviceId: string; route: { address: string; path: 'tailnet' | 'out-of-band'; via?: string; jump?: CollectionRoute['jump'] } };
    const device = await ctx.ports.tailnet.getDevice(data.deviceId);
    const attachments = { journalPath: ctx.ports.artifacts.journalPath(), extraFiles: await sealedArtifacts(ctx.ports.artifacts) };
    const result = await ctx.ports.evidence.collect({ runId: ctx.runId, device, route: data.route, signal: ctx.signal, progress: ctx.ports.progress, attachments });
    return toJsonValue({ ...result, included: attachments.extraFiles.map((f) => f.name) });
  },
  async check() {
    return { done: false, detail: 'collection is re-run' };
  },
});

/** Tailnet-side evidence written by earlier steps; sealed into the archive when present. */
export const SEALED_ARTIFACTS = [
  'audit/configuration-log.json',
  'policy/before.hujson',
  'policy/quarantine-after.hujson',
  'triage/devices.json',
  'triage/users.json',
  'triage/keys.json',
] as const;

/** The tailnet-side files that exist so far (written by earlier steps). */
async function sealedArtifacts(artifacts: ArtifactStore): Promise<{ name: string; path: string }[]> {
  const out: { name: string; path: string }[] = [];
  for (const name of SEALED_ARTIFACTS) {
    const path = await artifacts.pathOf(name);
    if (path) out.push({ name, path });
  }
  return out;
}

export const sealEvidence = defineActivity({
  name: 'seal-evidence',
  summary: 'Write the manifest and journal into the archive and sign it (SSHSIG)',
  mutates: false,
  destructive: false,
  params: z.object({ archivePath: z.string().min(1) }).strict(),
  async plan(ctx) {
    return { action: this.name, stepId: ctx.stepId, summary: [`seal and sign ${ctx.params.archivePath}`], mutations: [], destructive: false, warnings: [], data: { archivePath: ctx.params.archivePath } };
  },
  async apply(plan, ctx) {
    const extraFiles = await sealedArtifacts(ctx.ports.artifacts);
    const sealed = await ctx.ports.evidence.seal({ runId: ctx.runId, archivePath: plan.data.archivePath, journalPath: ctx.ports.artifacts.journalPath(), extraFiles });
    return toJsonValue({ ...sealed, included: extraFiles.map((f) => f.name) });
  },
  async check() {
    return { done: false, detail: 'sealing is re-run' };
  },
});

/** Verify the sealed archive. Its output `{ verified: true }` is what unlocks delete/recreate. */
export const verifyEvidence = defineActivity({
  name: 'verify-evidence',
  summary: "Verify the sealed archive's signature and manifest",
  mutates: false,
  destructive: false,
  provesEvidence: true,
  params: z.object({ archivePath: z.string().min(1), signaturePath: z.string().min(1) }).strict(),
  async plan(ctx) {
    return { action: this.name, stepId: ctx.stepId, summary: [`verify ${ctx.params.archivePath} against ${ctx.params.signaturePath}`], mutations: [], destructive: false, warnings: [], data: { ...ctx.params } };
  },
  async apply(plan, ctx) {
    const result = await ctx.ports.evidence.verify(plan.data);
    if (!result.ok)
      throw new CheckFailedError(`the evidence archive does not verify: ${result.detail}`, {
        hint: 'the archive and journal are kept; delete and recreate stay locked until it verifies. Re-seal and resume.',
      });
    return { verified: true, archivePath: plan.data.archivePath, detail: result.detail };
  },
  async check() {
    return { done: false, detail: 'verification is re-run' };
  },
});
