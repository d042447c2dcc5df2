import { z } from 'zod';
import { noChangePlan, defineActivity } from '../activity.js';
import { resolveTarget, summarizeDevice, type DeviceSummary } from '../resolve-target.js';
import { rankAuthKeyCandidates, type AuthKeyCandidate } from '../../tailnet/auth-key-candidates.js';
import type { JsonValue } from '../../core/json.js';
import { toJsonValue } from '../../core/json.js';
import type { CollectionRoute } from '../ports.js';

export type IdentityPath =
  | { kind: 'user'; userId: string; loginName: string; status: string }
  | { kind: 'tagged'; tags: string[]; keyIds: string[]; candidates: AuthKeyCandidate[] };

export interface TriageOutput {
  device: DeviceSummary;
  identity: IdentityPath;
  policyEtag: string;
  route: CollectionRoute;
  counts: { devices: number; users: number; keys: number };
  snapshotAt: string;
}

const params = z.object({ target: z.string().min(1) }).strict();

/**
 * Triage: resolve the target and snapshot devices, users, keys and the policy (text + ETag)
 * into the run directory; decide the identity path and how collection will reach the node.
 */
export const tailnetSnapshot = defineActivity<z.output<typeof params>, { target: string }, JsonValue>({
  name: 'tailnet-snapshot',
  summary: 'Resolve the target device and snapshot devices, users, keys and the policy file',
  mutates: false,
  destructive: false,
  safeInPlanMode: true,
  params,
  async plan(ctx) {
    return noChangePlan(this.name, ctx.stepId, [`resolve ${JSON.stringify(ctx.params.target)} and snapshot the tailnet (read-only)`], {
      target: ctx.params.target,
    });
  },
  async apply(plan, ctx) {
    const { tailnet, artifacts, evidence, clock } = ctx.ports;
    const [devices, users, keys, policy] = await Promise.all([
      tailnet.listDevices({ all: true }),
      tailnet.listUsers({ type: 'all' }),
      tailnet.listKeys({ all: true }),
      tailnet.getPolicy(),
    ]);
    const device = resolveTarget(plan.data.target, devices);
    // Keys as listed carry no secret; strip the field anyway so a future API change cannot leak one.
    const safeKeys = keys.map(({ key: _secret, ...rest }) => rest);
    await artifacts.write('triage/devices.json', JSON.stringify(devices, null, 2));
    await artifacts.write('triage/users.json', JSON.stringify(users, null, 2));
    await artifacts.write('triage/keys.json', JSON.stringify(safeKeys, null, 2));
    await artifacts.write('policy/before.hujson', policy.text);

    let identity: IdentityPath;
    if (device.tags?.length) {
      const candidates = rankAuthKeyCandidates({ device, keys: safeKeys, users });
      identity = {
        kind: 'tagged',
        tags: [...device.tags],
        keyIds: candidates.filter((c) => c.verdict === 'likely' && !c.revoked).map((c) => c.keyId),
        candidates,
      };
    } else {
      const owner = users.find((u) => u.loginName === device.user);
      if (!owner) throw new Error(`device ${device.nodeId} is user-owned by ${JSON.stringify(device.user)}, who is not in the user list`);
      identity = { kind: 'user', userId: owner.id, loginName: owner.loginName, status: owner.status };
    }
    const route = await evidence.routeFor(device);
    const out: TriageOutput = {
      device: summarizeDevice(device),
      identity,
      policyEtag: policy.etag,
      route,
      counts: { devices: devices.length, users: users.length, keys: keys.length },
      snapshotAt: clock.now().toISOString(),
    };
    return toJsonValue(out);
  },
  async check() {
    return { done: false, detail: 'read-only: re-run' };
  },
});
