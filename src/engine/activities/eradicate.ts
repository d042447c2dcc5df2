import { z } from 'zod';
import { defineActivity } from '../activity.js';
import type { Plan } from '../../core/plan.js';
import { durationSchema } from '../../core/playbook.js';
import { parseDuration } from '../../core/clock.js';
import { summarizeDevice, type DeviceSummary } from '../resolve-target.js';
import { toJsonValue } from '../../core/json.js';
import type { Device } from '../../tailnet/types.js';
import type { Clock, TailnetApi } from '../ports.js';
import { TailnetIrError } from '../../core/errors.js';
import { PlanStaleError } from '../engine-errors.js';
import { EnrolmentRefusedError } from '../../rebuild/enrolment-failed-error.js';
import { magicDnsLabel } from '../../core/device-config-key.js';
import { REBUILD_METHODS, type RebuildMethod } from '../../core/rebuild-config.js';

/** Delete the compromised device. Destructive, and only after this run's evidence verified. */
export const deleteDevice = defineActivity({
  name: 'delete-device',
  summary: 'Delete the compromised device from the tailnet',
  mutates: true,
  destructive: true,
  requiresVerifiedEvidence: true,
  params: z.object({ deviceId: z.string().min(1) }).strict(),
  async plan(ctx): Promise<Plan<{ deviceId: string }>> {
    const device = (await ctx.ports.tailnet.listDevices()).find((d) => d.nodeId === ctx.params.deviceId || d.id === ctx.params.deviceId);
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: device ? [`delete device ${device.name} (${device.nodeId}, ${device.addresses.join(', ')})`] : [`device ${ctx.params.deviceId} is already gone`],
      mutations: device ? [{ kind: 'delete-device', target: device.nodeId, detail: `delete ${device.name}` }] : [],
      destructive: true,
      warnings: [],
      data: { deviceId: device?.nodeId ?? ctx.params.deviceId },
    };
  },
  async apply(plan, ctx) {
    if (plan.mutations.length) await ctx.ports.tailnet.deleteDevice(plan.data.deviceId);
    return { deviceId: plan.data.deviceId, deleted: true };
  },
  async check(plan, ctx) {
    const present = (await ctx.ports.tailnet.listDevices()).some((d) => d.nodeId === plan.data.deviceId || d.id === plan.data.deviceId);
    return present ? { done: false, detail: 'device still listed' } : { done: true, output: { deviceId: plan.data.deviceId, deleted: true }, detail: 'device is gone' };
  },
});

/** Keys may live at most this long: the rebuilt host uses it once, within the hour. */
export const ENROLMENT_KEY_MAX_SECONDS = 3600;

export function enrolmentKeyDescription(runId: string): string {
  // The API allows ≤50 chars of letters, digits, hyphens and spaces.
  return `tailnet-ir rebuild ${runId}`.replace(/[^A-Za-z0-9 -]/g, '-').slice(0, 50);
}

type RecreatePlanData = {
  method: RebuildMethod;
  /** The hand-over as approved (host, jump, directory, state…); apply refuses to use other settings. */
  handover: string[];
  tags: string[];
  description: string;
  expirySeconds: number;
  oldDevice: DeviceSummary;
};

/**
 * Recreate the device: mint a one-off, pre-authorized key with the old tags (expiry ≤ 1 h,
 * description naming the run) and hand it straight to the enroller. Mint and hand-over are
 * one activity on purpose: the secret lives only in this call, never in a plan, output or
 * journal, so a crash in between cannot leave it on disk (the unused key is revoked on retry).
 */
export const recreateDevice = defineActivity({
  name: 'recreate-device',
  summary: 'Mint a one-off pre-authorized tagged key (≤ 1 h) and re-enrol the rebuilt host with it',
  mutates: true,
  destructive: false,
  requiresVerifiedEvidence: true,
  params: z
    .object({
      deviceId: z.string().min(1),
      tags: z.array(z.string().regex(/^tag:[A-Za-z0-9-]+$/)).min(1, 'a recreated device must be tagged (one-off keys with the old tags)'),
      expiry: durationSchema.default('1h'),
      /** `config`: as tailnet-ir.yaml says for this device (`rebuild.devices`, else `rebuild.method`). */
      method: z.enum(['config', ...REBUILD_METHODS]).default('config'),
    })
    .strict(),
  async plan(ctx): Promise<Plan<RecreatePlanData>> {
    const expirySeconds = Math.floor(parseDuration(ctx.params.expiry) / 1000);
    if (expirySeconds > ENROLMENT_KEY_MAX_SECONDS || expirySeconds < 60)
      throw new Error(`enrolment key expiry must be between 1m and 1h, got ${ctx.params.expiry}`);
    const oldDevice = await findDevice(ctx.ports.tailnet.listDevices({ all: true }), ctx.params.deviceId, ctx.outputs);
    const description = enrolmentKeyDescription(ctx.runId);
    const rebuild = await ctx.ports.enroller.describe(oldDevice as unknown as Device, ctx.params.method === 'config' ? undefined : ctx.params.method);
    const data: RecreatePlanData = { method: rebuild.method, handover: rebuild.summary, tags: ctx.params.tags, description, expirySeconds, oldDevice };
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: [
        `mint a one-off, pre-authorized auth key with tags ${ctx.params.tags.join(', ')}, valid ${expirySeconds / 60} min, described "${description}"`,
        `hand it over (${rebuild.method}): ${rebuild.summary.join('; ')}; the key is never written to a journal, log or report`,
      ],
      mutations: [{ kind: 'create-key', target: 'auth-key', detail: `one-off key for ${magicDnsLabel(oldDevice)} (${rebuild.method})` }],
      destructive: false,
      warnings: rebuild.blocked ? [...rebuild.warnings, `the hand-over would be refused now: ${rebuild.blocked}`] : rebuild.warnings,
      data,
    };
  },
  async apply(plan, ctx) {
    const { tailnet, enroller, clock } = ctx.ports;
    const oldDevice = plan.data.oldDevice as unknown as Device;
    // The approval was for a hand-over to this host, directory and state: the configuration may
    // have changed since (a resume days later). Different settings are a new plan to approve.
    const now = await enroller.describe(oldDevice, plan.data.method);
    if (JSON.stringify(now.summary) !== JSON.stringify(plan.data.handover ?? null))
      throw new PlanStaleError('the rebuild settings changed since this step was planned and approved', {
        hint: `Approved: ${(plan.data.handover ?? ['(nothing recorded)']).join('; ')}. Now: ${now.summary.join('; ')}. The step is planned again and needs a new approval.`,
      });
    if (now.blocked)
      throw new EnrolmentRefusedError(`no key was minted: ${now.blocked}`, { hint: 'Fix the cause (or choose another rebuild method with a new run), then resume.' });
    // An earlier attempt may have minted a key and died before enrolment: its secret is gone, revoke it.
    for (const k of await tailnet.listKeys()) {
      if (k.description === plan.data.description && !k.revoked && !k.invalid) await tailnet.deleteKey(k.id);
    }
    const mintedAt = clock.now().toISOString();
    const key = await tailnet.createKey({
      keyType: 'auth',
      capabilities: { devices: { create: { reusable: false, ephemeral: false, preauthorized: true, tags: plan.data.tags } } },
      expirySeconds: plan.data.expirySeconds,
      description: plan.data.description,
    });
    const secret = key.key;
    if (!secret) throw new Error(`the API created key ${key.id} but returned no secret; revoke it in the admin console and retry`);
    let enrolled: { method: string; detail: string };
    try {
      enrolled = await enroller.enrol({
        runId: ctx.runId,
        oldDevice,
        authKey: secret,
        tags: plan.data.tags,
        expires: key.expires ?? new Date(Date.parse(mintedAt) + plan.data.expirySeconds * 1000).toISOString(),
        method: plan.data.method,
      });
    } catch (err) {
      // A pre-authorized key must not outlive a failed hand-over: revoke it now, not on resume.
      const revokeError = await revokeWithRetries(tailnet, key.id, clock);
      if (revokeError)
        throw new KeyRevocationFailedError(
          `the hand-over failed (${err instanceof Error ? err.message : String(err)}) and the minted key ${key.id} could not be revoked (${revokeError})`,
          { hint: `Revoke key ${key.id} in the admin console now (it is pre-authorized and valid until ${key.expires ?? 'its expiry'}); resume also revokes it before minting again.`, cause: err },
        );
      throw err;
    }
    return { keyId: key.id, mintedAt, enrolMethod: enrolled.method, enrolDetail: enrolled.detail, tags: plan.data.tags, hostname: magicDnsLabel(plan.data.oldDevice) };
  },
  async check(plan, ctx) {
    const old = plan.data.oldDevice;
    const fresh = (await ctx.ports.tailnet.listDevices()).find(
      (d) => d.nodeId !== old.nodeId && d.hostname === magicDnsLabel(old) && sameTags(d.tags ?? [], plan.data.tags) && d.created !== undefined && old.created !== null && d.created > old.created,
    );
    return fresh
      ? { done: true, output: { keyId: null, mintedAt: null, enrolMethod: 'unknown (found on resume)', enrolDetail: `device ${fresh.nodeId} already enrolled`, tags: plan.data.tags, hostname: magicDnsLabel(old) }, detail: `new device ${fresh.nodeId} exists` }
      : { done: false, detail: 'no re-enrolled device yet' };
  },
});

/** Poll until the rebuilt device appears (bounded; clock injected so drills skip time). */
export const waitForDevice = defineActivity({
  name: 'wait-for-device',
  summary: 'Wait for the rebuilt device to join with the expected tags',
  mutates: false,
  destructive: false,
  params: z
    .object({
      hostname: z.string().min(1),
      tags: z.array(z.string()).default([]),
      /** Old node id: the new device must be a different node. */
      replaces: z.string().min(1),
      /** The one-off key recreate minted (null when the device was found on resume): named if the wait gives up. */
      keyId: z.string().nullable().default(null),
      timeout: durationSchema.default('10m'),
      interval: durationSchema.default('10s'),
    })
    .strict(),
  async plan(ctx) {
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: [`wait up to ${ctx.params.timeout} for ${ctx.params.hostname} to join${ctx.params.tags.length ? ` with ${ctx.params.tags.join(', ')}` : ''}`],
      mutations: [],
      destructive: false,
      warnings: [],
      data: { ...ctx.params },
    };
  },
  async apply(plan, ctx) {
    const { tailnet, clock, progress } = ctx.ports;
    const interval = parseDuration(plan.data.interval);
    const deadline = clock.now().getTime() + parseDuration(plan.data.timeout);
    for (let attempt = 1; ; attempt++) {
      const found = (await tailnet.listDevices()).find(
        (d) => d.nodeId !== plan.data.replaces && d.hostname === plan.data.hostname && plan.data.tags.every((t) => (d.tags ?? []).includes(t)),
      );
      if (found) return toJsonValue({ device: summarizeDevice(found), attempts: attempt });
      if (clock.now().getTime() + interval > deadline)
        throw new Error(
          `${plan.data.hostname} did not join within ${plan.data.timeout} (${attempt} polls); check the rebuilt host's tailscaled log, then resume` +
            (plan.data.keyId ? `. The one-off key ${plan.data.keyId} stays valid (single use, at most 1 h from minting): revoke it in the admin console if you abandon this rebuild` : ''),
        );
      progress({ runId: ctx.runId, stepId: ctx.stepId, phase: 'info', message: `waiting for ${plan.data.hostname} (poll ${attempt})` });
      await clock.sleep(interval, ctx.signal);
    }
  },
  async check() {
    return { done: false, detail: 'read-only: re-run' };
  },
});

/** Thrown when a failed hand-over also left its minted key unrevoked: the operator must know. */
export class KeyRevocationFailedError extends TailnetIrError {
  override readonly code = 'key-revocation-failed';
}

/** Revoke, retrying briefly; the error text of the last failure, or undefined once revoked. */
async function revokeWithRetries(tailnet: Pick<TailnetApi, 'deleteKey'>, keyId: string, clock: Clock): Promise<string | undefined> {
  let last = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await tailnet.deleteKey(keyId);
      return undefined;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
      if (attempt < 3) await clock.sleep(1000 * attempt);
    }
  }
  return last;
}

function sameTags(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t) => b.includes(t));
}

/** The old device may already be deleted: fall back to the triage snapshot in the outputs. */
async function findDevice(list: Promise<Device[]>, id: string, outputs: Readonly<Record<string, unknown>>): Promise<DeviceSummary> {
  const live = (await list).find((d) => d.nodeId === id || d.id === id);
  if (live) return summarizeDevice(live);
  for (const out of Object.values(outputs)) {
    const dev = (out as { device?: DeviceSummary } | null)?.device;
    if (dev && (dev.nodeId === id || dev.id === id)) return dev;
  }
  throw new Error(`device ${id} is neither in the tailnet nor in this run's triage snapshot`);
}
