import { z } from 'zod';
import { defineActivity } from '../activity.js';
import type { Plan } from '../../core/plan.js';
import type { AuthKeyCandidate } from '../../tailnet/auth-key-candidates.js';

/** Auth-key candidates ranked by the triage step, if any step output carries them. */
function triageCandidates(outputs: Readonly<Record<string, unknown>>): AuthKeyCandidate[] {
  for (const out of Object.values(outputs)) {
    const candidates = (out as { identity?: { candidates?: AuthKeyCandidate[] } } | null)?.identity?.candidates;
    if (Array.isArray(candidates)) return candidates;
  }
  return [];
}

/** Suspend the owner of a user-owned device. Destructive: always approved and journaled. */
export const suspendUser = defineActivity({
  name: 'suspend-user',
  summary: "Suspend the device owner's user account (takes all their devices off the tailnet)",
  mutates: true,
  destructive: true,
  params: z.object({ userId: z.string().min(1) }).strict(),
  async plan(ctx): Promise<Plan<{ userId: string; loginName: string }>> {
    const user = await ctx.ports.tailnet.getUser(ctx.params.userId);
    const already = user.status === 'suspended';
    // Issue rule: if collection still needs the tailnet path, say so before suspending.
    // (In a dry run an earlier collection step is planned, not run: it still comes first.)
    const collected =
      Object.values(ctx.outputs).some((o) => typeof (o as { archivePath?: unknown } | null)?.archivePath === 'string') ||
      (ctx.plannedActions?.includes('collect-evidence') ?? false);
    const route = Object.values(ctx.outputs).map((o) => (o as { route?: { path?: string } } | null)?.route).find((r) => r !== undefined);
    const warnings =
      !already && !collected && route?.path === 'tailnet'
        ? [`evidence has not been collected yet and collection goes over the tailnet: suspending ${user.loginName} takes the node off the tailnet; collect first or configure an out-of-band address`]
        : [];
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: already
        ? [`user ${user.loginName} is already suspended: nothing to do`]
        : [`suspend user ${user.loginName} (${user.id}); their ${user.deviceCount ?? 'other'} device(s) lose tailnet access`],
      mutations: already ? [] : [{ kind: 'suspend-user', target: user.id, detail: `suspend ${user.loginName}` }],
      destructive: true,
      warnings,
      data: { userId: user.id, loginName: user.loginName },
    };
  },
  async apply(plan, ctx) {
    if (plan.mutations.length) await ctx.ports.tailnet.suspendUser(plan.data.userId);
    return { userId: plan.data.userId, suspended: true };
  },
  async check(plan, ctx) {
    const user = await ctx.ports.tailnet.getUser(plan.data.userId);
    return user.status === 'suspended'
      ? { done: true, output: { userId: plan.data.userId, suspended: true }, detail: 'user is suspended' }
      : { done: false, detail: `user status is ${user.status}` };
  },
});

/** Revoke the auth keys triage ranked as likely to have enrolled the device. Destructive. */
export const revokeAuthKeys = defineActivity({
  name: 'revoke-auth-keys',
  summary: 'Revoke the auth key(s) that most likely enrolled a tagged device',
  mutates: true,
  destructive: true,
  params: z.object({ keyIds: z.array(z.string().min(1)) }).strict(),
  async plan(ctx): Promise<Plan<{ keyIds: string[] }>> {
    const toRevoke: string[] = [];
    const summary: string[] = [];
    // The approver sees why each key is suspected: the ranking evidence from triage.
    const candidates = triageCandidates(ctx.outputs);
    for (const id of [...new Set(ctx.params.keyIds)]) {
      const key = await ctx.ports.tailnet.getKey(id);
      if (key.revoked || key.invalid) summary.push(`key ${id} is already revoked or invalid`);
      else {
        toRevoke.push(id);
        summary.push(`revoke auth key ${id}${key.description ? ` (${key.description})` : ''}, created ${key.created}`);
        const c = candidates.find((x) => x.keyId === id);
        if (c) summary.push(`  ranked ${c.verdict} (score ${c.score}): ${c.evidence.map((e) => `${e.criterion} ${e.result} - ${e.detail}`).join('; ')}`);
      }
    }
    const warnings = ctx.params.keyIds.length === 0 ? ['no candidate key was ranked likely: nothing will be revoked; review the candidates in the triage output'] : [];
    const possible = candidates.filter((c) => c.verdict === 'possible' && !c.revoked && !ctx.params.keyIds.includes(c.keyId));
    if (possible.length) warnings.push(`not revoked, but possible: ${possible.map((c) => `${c.keyId} (score ${c.score})`).join(', ')}; revoke by hand if the evidence convinces you`);
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: summary.length ? summary : ['no keys to revoke'],
      mutations: toRevoke.map((id) => ({ kind: 'revoke-key', target: id, detail: `revoke auth key ${id}` })),
      destructive: true,
      warnings,
      data: { keyIds: toRevoke },
    };
  },
  async apply(plan, ctx) {
    for (const id of plan.data.keyIds) {
      // Check, then act: a retry after a partial failure must not revoke twice.
      const key = await ctx.ports.tailnet.getKey(id);
      if (!key.revoked && !key.invalid) await ctx.ports.tailnet.deleteKey(id);
    }
    return { revokedKeyIds: plan.data.keyIds };
  },
  async check(plan, ctx) {
    for (const id of plan.data.keyIds) {
      const key = await ctx.ports.tailnet.getKey(id);
      if (!key.revoked && !key.invalid) return { done: false, detail: `key ${id} is still valid` };
    }
    return { done: true, output: { revokedKeyIds: plan.data.keyIds }, detail: 'all planned keys are revoked' };
  },
});

/** Expire the node key so the device must re-authenticate. */
export const expireNodeKey = defineActivity({
  name: 'expire-node-key',
  summary: "Expire the device's node key (forces re-authentication)",
  mutates: true,
  destructive: false,
  params: z.object({ deviceId: z.string().min(1) }).strict(),
  async plan(ctx): Promise<Plan<{ deviceId: string }>> {
    const device = await ctx.ports.tailnet.getDevice(ctx.params.deviceId);
    const expired = device.expires !== undefined && Date.parse(device.expires) <= ctx.ports.clock.now().getTime();
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: [expired ? `node key of ${device.name} already expired` : `expire the node key of ${device.name} (${device.nodeId})`],
      mutations: expired ? [] : [{ kind: 'expire-node-key', target: device.nodeId, detail: `expire node key of ${device.name}` }],
      destructive: false,
      warnings: [],
      data: { deviceId: device.nodeId },
    };
  },
  async apply(plan, ctx) {
    if (plan.mutations.length) await ctx.ports.tailnet.expireDevice(plan.data.deviceId);
    return { deviceId: plan.data.deviceId, expired: true };
  },
  async check(plan, ctx) {
    const device = await ctx.ports.tailnet.getDevice(plan.data.deviceId);
    const expired = device.expires !== undefined && Date.parse(device.expires) <= ctx.ports.clock.now().getTime();
    return expired
      ? { done: true, output: { deviceId: plan.data.deviceId, expired: true }, detail: 'node key is expired' }
      : { done: false, detail: 'node key still valid' };
  },
});

/** Disable every enabled subnet route and exit-node route of the device. */
export const disableRoutes = defineActivity({
  name: 'disable-routes',
  summary: 'Disable the subnet routes and exit-node use the device advertises',
  mutates: true,
  destructive: false,
  params: z.object({ deviceId: z.string().min(1) }).strict(),
  async plan(ctx): Promise<Plan<{ deviceId: string; enabled: string[] }>> {
    const routes = await ctx.ports.tailnet.getDeviceRoutes(ctx.params.deviceId);
    const exit = routes.enabledRoutes.filter((r) => r === '0.0.0.0/0' || r === '::/0');
    return {
      action: this.name,
      stepId: ctx.stepId,
      summary: routes.enabledRoutes.length
        ? [`disable ${routes.enabledRoutes.length} route(s): ${routes.enabledRoutes.join(', ')}${exit.length ? ' (the device stops being an exit node)' : ''}`]
        : ['no routes enabled: nothing to do'],
      mutations: routes.enabledRoutes.length ? [{ kind: 'disable-routes', target: ctx.params.deviceId, detail: routes.enabledRoutes.join(', ') }] : [],
      destructive: false,
      warnings: [],
      data: { deviceId: ctx.params.deviceId, enabled: routes.enabledRoutes },
    };
  },
  async apply(plan, ctx) {
    if (plan.mutations.length) await ctx.ports.tailnet.setDeviceRoutes(plan.data.deviceId, []);
    return { deviceId: plan.data.deviceId, disabledRoutes: plan.data.enabled };
  },
  async check(plan, ctx) {
    const routes = await ctx.ports.tailnet.getDeviceRoutes(plan.data.deviceId);
    return routes.enabledRoutes.length === 0
      ? { done: true, output: { deviceId: plan.data.deviceId, disabledRoutes: plan.data.enabled }, detail: 'no routes enabled' }
      : { done: false, detail: `still enabled: ${routes.enabledRoutes.join(', ')}` };
  },
});
