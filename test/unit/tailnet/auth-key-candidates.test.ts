import { describe, expect, it } from 'vitest';
import { rankAuthKeyCandidates } from '../../../src/tailnet/auth-key-candidates.js';
import type { Device, Key, User } from '../../../src/tailnet/types.js';

const users: User[] = [
  { id: 'u-bob', displayName: 'Bob', loginName: 'bob@example.com', type: 'member', role: 'admin', status: 'active' },
  { id: 'u-eve', displayName: 'Eve', loginName: 'eve@example.com', type: 'member', role: 'member', status: 'active' },
];
const tagged: Device = { id: '2', nodeId: 'nWEB', addresses: ['100.64.0.2'], name: 'web-1.tail0000.ts.net', hostname: 'web-1', user: 'bob@example.com', tags: ['tag:web'], created: '2025-07-01T12:00:00Z' };
const owned: Device = { ...tagged, nodeId: 'nLAP', name: 'laptop-1.tail0000.ts.net', hostname: 'laptop-1', tags: [], user: 'eve@example.com' };
const caps = (tags: string[], extra: { reusable?: boolean; ephemeral?: boolean } = {}) => ({ devices: { create: { reusable: false, ephemeral: false, preauthorized: true, tags, ...extra } } });

const keys: Key[] = [
  { id: 'kExact', description: 'web-1 enrolment', created: '2025-07-01T11:30:00Z', expires: '2025-07-02T11:30:00Z', userId: 'u-bob', capabilities: caps(['tag:web']) },
  { id: 'kFleet', description: 'fleet', created: '2025-06-01T00:00:00Z', expires: '2026-06-01T00:00:00Z', userId: 'u-bob', capabilities: caps(['tag:web'], { reusable: true }) },
  { id: 'kLater', description: 'created after the device', created: '2025-08-01T00:00:00Z', expires: '2026-08-01T00:00:00Z', userId: 'u-bob', capabilities: caps(['tag:web']) },
  { id: 'kExpired', description: 'expired before', created: '2025-01-01T00:00:00Z', expires: '2025-02-01T00:00:00Z', userId: 'u-bob', capabilities: caps(['tag:web']) },
  { id: 'kOtherTag', description: 'db', created: '2025-06-01T00:00:00Z', expires: '2026-06-01T00:00:00Z', userId: 'u-bob', capabilities: caps(['tag:db']) },
  { id: 'kEphemeral', description: 'ci', created: '2025-06-01T00:00:00Z', expires: '2026-06-01T00:00:00Z', userId: 'u-bob', capabilities: caps(['tag:web'], { ephemeral: true, reusable: true }) },
  { id: 'kEve', description: 'eve laptop', created: '2025-06-30T00:00:00Z', expires: '2025-12-30T00:00:00Z', userId: 'u-eve', capabilities: caps([]) },
  { id: 'kApi', keyType: 'api', created: '2025-06-01T00:00:00Z', userId: 'u-bob' },
];

describe('rankAuthKeyCandidates', () => {
  it('ranks the exact-tag, in-window, one-off key naming the host first, with its evidence', () => {
    const ranked = rankAuthKeyCandidates({ device: tagged, keys, users });
    const first = ranked[0];
    expect(first?.keyId).toBe('kExact');
    expect(first?.verdict).toBe('likely');
    expect(first?.evidence.map((e) => [e.criterion, e.result])).toEqual([
      ['tags', 'match'],
      ['creation-window', 'match'],
      ['owner', 'match'],
      ['ephemeral', 'match'],
      ['reusable', 'note'],
      ['description', 'match'],
    ]);
    expect(first?.evidence.find((e) => e.criterion === 'creation-window')?.detail).toMatch(/30 min after the key/);
  });

  it('keeps a reusable in-window key as a candidate and says it may have enrolled others', () => {
    const fleet = rankAuthKeyCandidates({ device: tagged, keys, users }).find((c) => c.keyId === 'kFleet');
    expect(['likely', 'possible']).toContain(fleet?.verdict);
    expect(fleet?.evidence.find((e) => e.criterion === 'reusable')?.detail).toMatch(/other devices/);
  });

  it.each([
    ['kLater', /before the key existed/],
    ['kExpired', /after the key stopped working/],
    ['kEphemeral', /ephemeral/],
  ])('excludes %s as impossible', (id, why) => {
    const c = rankAuthKeyCandidates({ device: tagged, keys, users }).find((x) => x.keyId === id);
    expect(c?.verdict).toBe('excluded');
    expect(c?.evidence.some((e) => e.result === 'impossible' && why.test(e.detail))).toBe(true);
  });

  it('ranks a key whose tags are not on the device low, and ignores non-auth keys', () => {
    const ranked = rankAuthKeyCandidates({ device: tagged, keys, users });
    expect(ranked.find((c) => c.keyId === 'kOtherTag')?.verdict).toBe('unlikely');
    expect(ranked.some((c) => c.keyId === 'kApi')).toBe(false);
    // excluded ones sort last
    expect(ranked.at(-1)?.verdict).toBe('excluded');
  });

  it('for a user-owned device, a key created by someone else is impossible', () => {
    const ranked = rankAuthKeyCandidates({ device: owned, keys, users });
    expect(ranked[0]?.keyId).toBe('kEve');
    expect(ranked[0]?.evidence.find((e) => e.criterion === 'owner')).toMatchObject({ result: 'match' });
    expect(ranked.find((c) => c.keyId === 'kExact')?.verdict).toBe('excluded');
  });

  it('treats a tailnet-owned key (no creator) as unknown owner, not a mismatch', () => {
    const [c] = rankAuthKeyCandidates({ device: tagged, keys: [{ ...(keys[0] as Key), userId: undefined }], users });
    expect(c?.evidence.find((e) => e.criterion === 'owner')?.result).toBe('unknown');
    expect(c?.verdict).toBe('likely');
  });

  it('flags a revoked key in the output', () => {
    const [c] = rankAuthKeyCandidates({ device: tagged, keys: [{ ...(keys[0] as Key), revoked: '2025-07-01T13:00:00Z' }], users });
    expect(c?.revoked).toBe(true);
  });
});
