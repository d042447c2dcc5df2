/**
 * The evaluator resolves users, groups and tags from per-model indexes (for speed); this checks
 * them against the definition, device by device, on generated inventories — including tagged
 * devices (no user identity), devices without an IPv6 address, and mixed-case logins.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy, parsePolicy } from '../../../../src/tailnet/policy/index.js';
import type { Device } from '../../../../src/tailnet/types.js';
import { device, user } from './support.js';

const LOGINS = ['a@example.com', 'B@example.com', 'c@example.org'];
const TAGS = ['tag:x', 'tag:y', 'tag:z'];

const genDevices = fc.array(
  fc.record({ owner: fc.integer({ min: 0, max: 2 }), tags: fc.subarray([0, 1, 2], { maxLength: 2 }), v4only: fc.boolean() }),
  { minLength: 1, maxLength: 12 },
);

const policy = parsePolicy(`{
  "groups": {"group:ab": ["a@example.com", "b@example.com"], "group:c": ["c@example.org"], "group:none": []},
  "tagOwners": {"tag:x": [], "tag:y": [], "tag:z": []},
  "acls": [
    {"action": "accept", "src": ["a@example.com", "b@example.com", "c@example.org", "nobody@example.com"], "dst": ["tag:x:1"]},
    {"action": "accept", "src": ["group:ab", "group:c", "group:none"], "dst": ["tag:y:1"]},
    {"action": "accept", "src": ["tag:x", "tag:y", "tag:z"], "dst": ["group:ab:1", "c@example.org:1"]},
  ],
}`);

describe('evaluator selector indexes', () => {
  it('resolve users, groups and tags exactly as their definitions say, with family bits per device', () => {
    fc.assert(
      fc.property(genDevices, (gen) => {
        const devices: Device[] = gen.map((g, i) => {
          const d = device(i + 1, `d${i + 1}`, LOGINS[g.owner] as string, g.tags.map((t) => TAGS[t] as string));
          return g.v4only ? { ...d, addresses: [d.addresses[0] as string] } : d;
        });
        const model = compilePolicy(policy, { devices, users: LOGINS.map((l) => user(l)) });
        const members: Record<string, string[]> = { 'group:ab': ['a@example.com', 'b@example.com'], 'group:c': ['c@example.org'], 'group:none': [] };
        const owner = (d: Device) => ((d.tags ?? []).length ? undefined : d.user?.toLowerCase());
        for (const rule of model.rules)
          for (const [i, alias] of rule.rule.src.entries()) {
            const text = rule.rule.srcTexts[i] as string;
            const want = (d: Device): boolean =>
              text.startsWith('tag:') ? (d.tags ?? []).includes(text) : text.startsWith('group:') ? (members[text] ?? []).includes(owner(d) ?? '') : owner(d) === text;
            const sel = model.selector(alias, 'src');
            for (const e of model.devices) {
              const covered = want(e.device);
              expect(model.covers(sel, e, 'v4')).toBe(covered);
              expect(model.covers(sel, e, 'v6')).toBe(covered && e.v6 !== undefined);
              // The compiled family bits agree with the selector, device by device.
              const inV4 = ((rule.bits.v4[e.index >>> 5] as number) >>> (e.index & 31)) & 1;
              if (covered) expect(inV4).toBe(1);
            }
          }
      }),
      { numRuns: 200, seed: 20261121 },
    );
  });
});
