import type { Device, Key, User } from './types.js';

/**
 * Which auth key(s) enrolled a device? The API has no link from device to key, so rank every
 * auth key by the circumstantial evidence (tags, creation window, owner, ephemerality,
 * reusability, description) and keep the evidence for each ranking: the responder approves a
 * revocation knowing why each key is suspected. Pure: inputs are API snapshots.
 */

export type EvidenceResult = 'match' | 'mismatch' | 'impossible' | 'unknown' | 'note';

export interface CandidateEvidence {
  criterion: 'tags' | 'creation-window' | 'owner' | 'ephemeral' | 'reusable' | 'description';
  result: EvidenceResult;
  /** Contribution to the score. */
  weight: number;
  detail: string;
}

export type CandidateVerdict = 'likely' | 'possible' | 'unlikely' | 'excluded';

export interface AuthKeyCandidate {
  keyId: string;
  description: string;
  created: string;
  revoked: boolean;
  score: number;
  verdict: CandidateVerdict;
  evidence: CandidateEvidence[];
}

export interface RankInput {
  device: Device;
  keys: Key[];
  users: User[];
}

export function keyTags(key: Key): string[] {
  return key.capabilities?.devices?.create?.tags ?? key.tags ?? [];
}

function time(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export function rankAuthKeyCandidates({ device, keys, users }: RankInput): AuthKeyCandidate[] {
  const deviceTags = device.tags ?? [];
  const tagged = deviceTags.length > 0;
  const deviceCreated = time(device.created);
  const loginById = new Map(users.map((u) => [u.id, u.loginName]));

  const candidates = keys
    .filter((k) => k.keyType === undefined || k.keyType === 'auth')
    .map((key): AuthKeyCandidate => {
      const evidence: CandidateEvidence[] = [];
      const add = (e: CandidateEvidence) => evidence.push(e);
      const kTags = keyTags(key);
      const create = key.capabilities?.devices?.create;

      // 1. Tags: a device enrolled with a tagged key carries the key's tags (it may be retagged later).
      if (tagged) {
        if (kTags.length === 0) add({ criterion: 'tags', result: 'mismatch', weight: -30, detail: `key is untagged; device has ${deviceTags.join(', ')} (possible only if retagged after enrolment)` });
        else if (sameSet(kTags, deviceTags)) add({ criterion: 'tags', result: 'match', weight: 40, detail: `key tags equal the device tags (${kTags.join(', ')})` });
        else if (kTags.every((t) => deviceTags.includes(t))) add({ criterion: 'tags', result: 'match', weight: 20, detail: `key tags ${kTags.join(', ')} are a subset of the device tags ${deviceTags.join(', ')}` });
        else add({ criterion: 'tags', result: 'mismatch', weight: -50, detail: `key tags ${kTags.join(', ')} are not all on the device (${deviceTags.join(', ')})` });
      } else if (kTags.length > 0) {
        add({ criterion: 'tags', result: 'mismatch', weight: -50, detail: `key is tagged (${kTags.join(', ')}); the device is user-owned` });
      } else {
        add({ criterion: 'tags', result: 'match', weight: 10, detail: 'both untagged' });
      }

      // 2. Creation window: key.created ≤ device.created ≤ min(expires, revoked).
      const kCreated = time(key.created);
      const end = Math.min(time(key.expires) ?? Infinity, time(key.revoked) ?? Infinity);
      if (deviceCreated === undefined || kCreated === undefined) {
        add({ criterion: 'creation-window', result: 'unknown', weight: 0, detail: 'device or key creation time unknown' });
      } else if (deviceCreated < kCreated) {
        add({ criterion: 'creation-window', result: 'impossible', weight: -100, detail: `device created ${device.created}, before the key existed (${key.created})` });
      } else if (deviceCreated > end) {
        add({ criterion: 'creation-window', result: 'impossible', weight: -100, detail: `device created ${device.created}, after the key stopped working (${new Date(end).toISOString()})` });
      } else {
        const hours = (deviceCreated - kCreated) / 3_600_000;
        add({ criterion: 'creation-window', result: 'match', weight: 30, detail: `device created ${hours < 1 ? `${Math.round(hours * 60)} min` : `${hours.toFixed(1)} h`} after the key, while it was valid` });
      }

      // 3. Owner: a user-owned device enrolled by key authenticates as the key's creator.
      const login = key.userId ? loginById.get(key.userId) : undefined;
      if (!key.userId) add({ criterion: 'owner', result: 'unknown', weight: 0, detail: 'key is tailnet-owned (minted by a trust credential)' });
      else if (!login) add({ criterion: 'owner', result: 'unknown', weight: 0, detail: `key creator ${key.userId} is not in the user list` });
      else if (!tagged) {
        if (login === device.user) add({ criterion: 'owner', result: 'match', weight: 25, detail: `key created by ${login}, who owns the device` });
        else add({ criterion: 'owner', result: 'impossible', weight: -100, detail: `key created by ${login}; the device belongs to ${device.user}` });
      } else if (login === device.user) {
        add({ criterion: 'owner', result: 'match', weight: 5, detail: `key created by ${login}, the device's registering user` });
      } else {
        add({ criterion: 'owner', result: 'note', weight: 0, detail: `key created by ${login}; tagged devices need not show the creator` });
      }

      // 4. Ephemerality is fixed by the key.
      const keyEphemeral = create?.ephemeral ?? false;
      const deviceEphemeral = device.isEphemeral ?? false;
      if (create === undefined) add({ criterion: 'ephemeral', result: 'unknown', weight: 0, detail: 'key capabilities not returned' });
      else if (keyEphemeral === deviceEphemeral) add({ criterion: 'ephemeral', result: 'match', weight: 10, detail: `both ${keyEphemeral ? 'ephemeral' : 'non-ephemeral'}` });
      else add({ criterion: 'ephemeral', result: 'impossible', weight: -100, detail: `key ${keyEphemeral ? 'makes' : 'does not make'} ephemeral devices; device is ${deviceEphemeral ? '' : 'not '}ephemeral` });

      // 5. Reusable keys may have enrolled others too; a one-off key enrolled exactly one device.
      if (create?.reusable) add({ criterion: 'reusable', result: 'note', weight: 0, detail: 'reusable: may also have enrolled other devices (revoking it stops future enrolments only)' });
      else if (create) add({ criterion: 'reusable', result: 'note', weight: 5, detail: 'one-off key: enrolled at most one device' });

      // 6. Description naming the host (naming conventions at mint time).
      const desc = key.description ?? '';
      const shortName = device.name.split('.')[0] ?? '';
      const names = [device.hostname, shortName].filter((n) => n.length >= 3).map((n) => n.toLowerCase());
      if (desc && names.some((n) => desc.toLowerCase().includes(n)))
        add({ criterion: 'description', result: 'match', weight: 15, detail: 'key description names the device' });
      else if (desc) add({ criterion: 'description', result: 'unknown', weight: 0, detail: 'key description does not name the device' });

      const excluded = evidence.some((e) => e.result === 'impossible');
      const score = evidence.reduce((s, e) => s + e.weight, 0);
      return {
        keyId: key.id,
        description: desc,
        created: key.created,
        revoked: Boolean(key.revoked || key.invalid),
        score,
        verdict: excluded ? 'excluded' : score >= 60 ? 'likely' : score >= 25 ? 'possible' : 'unlikely',
        evidence,
      };
    });

  const order: Record<CandidateVerdict, number> = { likely: 0, possible: 1, unlikely: 2, excluded: 3 };
  return candidates.sort(
    (a, b) =>
      order[a.verdict] - order[b.verdict] ||
      b.score - a.score ||
      distance(a.created, deviceCreated) - distance(b.created, deviceCreated) ||
      a.keyId.localeCompare(b.keyId),
  );
}

function distance(created: string, deviceCreated: number | undefined): number {
  const t = time(created);
  return t === undefined || deviceCreated === undefined ? Infinity : Math.abs(deviceCreated - t);
}
