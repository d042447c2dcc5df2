/**
 * Release checked against the inventory: parked tests whose device is gone stay parked (and
 * are restored by a later release once the device is back); anything else that would fail the
 * released policy's tests is a conflict, never a text the control server would reject.
 */
import { describe, expect, it } from 'vitest';
import { checkPolicy, planQuarantine, planRelease, renderReleasePlan } from '../../../../src/tailnet/policy/index.js';
import type { Inventory } from '../../../../src/tailnet/policy/index.js';
import { device, user } from './support.js';

const users = [user('alice@example.com', 'admin'), user('bob@example.com'), user('carol@example.com')];
const alice = device(1, 'alice-laptop', 'alice@example.com');
const bob = device(2, 'bob-laptop', 'bob@example.com');
const carol = device(3, 'carol-laptop', 'carol@example.com');
const serverA = device(4, 'server-a', 'alice@example.com', ['tag:a']);
const inv: Inventory = { users, devices: [alice, bob, carol, serverA] };
const withoutBob: Inventory = { users, devices: [alice, carol, serverA] };

// bob's laptop is his only device. Three tests concern only it: by user, by IP literal, and into it.
const BOB_TEST = '{"src": "bob@example.com", "accept": ["tag:a:22"]}';
const BOB_IP_TEST = '{"src": "100.64.0.2", "accept": ["tag:a:443"]}';
const INTO_BOB_TEST = '{"src": "alice@example.com", "accept": ["100.64.0.2:8080"]}';
const ALICE_TEST = '{"src": "alice@example.com", "accept": ["tag:a:22"], "deny": ["tag:a:5432"]}';
const text = `// release tests
{
  "groups": {"group:incident-response": ["carol@example.com"]},
  "tagOwners": {"tag:a": []},
  "acls": [
    {"action": "accept", "src": ["autogroup:member"], "dst": ["tag:a:22,443"]},
    {"action": "accept", "src": ["alice@example.com"], "dst": ["autogroup:member:8080"]},
  ],
  "tests": [
    ${BOB_TEST},
    ${ALICE_TEST},
    ${BOB_IP_TEST},
    // alice's dashboard reaches bob's laptop
    ${INTO_BOB_TEST},
  ],
}
`;

describe('release checked against the current devices', () => {
  const plan = planQuarantine(text, inv, { run: 'ir-9', targets: ['bob-laptop'], highRisk: ['tag:a:22'] });

  it('the quarantine parks the three tests that concern only bob-laptop', () => {
    expect(plan.status).toBe('ready');
    expect(plan.parkedTests.map((t) => JSON.stringify(t.test))).toEqual([BOB_TEST, BOB_IP_TEST, INTO_BOB_TEST].map((t) => JSON.stringify(JSON.parse(t))));
  });

  it('is byte-exact when every device is back as it was', () => {
    const rel = planRelease(plan.newText, 'ir-9', { inventory: inv });
    expect(rel.status).toBe('ready');
    expect(rel.testsChecked).toBe(true);
    expect(rel.stillParked).toEqual([]);
    expect(rel.newText).toBe(text);
  });

  it('without the device list it restores everything but says the tests were not checked', () => {
    const rel = planRelease(plan.newText, 'ir-9');
    expect(rel.newText).toBe(text);
    expect(rel.testsChecked).toBe(false);
    expect(rel.warnings.join('\n')).toMatch(/restores 3 parked test\(s\) without checking them/);
  });

  describe('after bob-laptop was deleted', () => {
    const rel = planRelease(plan.newText, 'ir-9', { inventory: withoutBob });

    it('keeps the three parked tests out and the released policy passes its tests', () => {
      expect(rel.status).toBe('ready');
      expect(rel.stillParked.map((s) => s.text)).toEqual([BOB_TEST, BOB_IP_TEST, INTO_BOB_TEST]);
      expect(rel.stillParked[0]?.reason).toMatch(/source bob@example\.com has no device in service/);
      expect(rel.stillParked[1]?.reason).toMatch(/source 100\.64\.0\.2 has no device in service/);
      expect(rel.stillParked[2]?.reason).toMatch(/destination\(s\) 100\.64\.0\.2:8080 have no device in service/);
      expect(checkPolicy(rel.newText!, withoutBob).failures).toEqual([]);
      // Without the device list, this text is exactly what used to be rejected by the control server.
      expect(checkPolicy(planRelease(plan.newText, 'ir-9').newText!, withoutBob).failures.length).toBeGreaterThan(0);
    });

    it('restores everything else exactly: only the kept regions differ from the original', () => {
      const out = rel.newText!;
      expect(out).not.toContain('tag:quarantine-ir-9');
      expect(out).not.toContain('ipset:quarantine');
      const stripped = out.replace(/\/\* tailnet-ir quarantine ir-9 #\d+\/\d+ (begin|end)[^*]*(?:\*(?!\/)[^*]*)*\*\//g, '');
      expect(stripped).toBe(text.replace(`${BOB_TEST},`, '').replace(`${BOB_IP_TEST},`, '').replace(`${INTO_BOB_TEST},`, ''));
      expect(out).toContain(ALICE_TEST);
    });

    it('tells the operator how to restore them, in the warnings and the rendering', () => {
      const w = rel.warnings.filter((x) => x.startsWith('parked test stays out'));
      expect(w).toHaveLength(3);
      expect(w[0]).toContain(BOB_TEST);
      expect(w[0]).toContain('tailnet-ir policy release --run ir-9');
      // The device is gone, so there is nothing to say about untagging it.
      expect(rel.warnings.join('\n')).toContain('device n2 (retagged by this quarantine) is no longer in the tailnet');
      expect(rel.warnings.join('\n')).not.toContain('re-authenticate');
      expect(renderReleasePlan(rel)).toMatch(/3 parked test\(s\) left out/);
    });

    it('a later release, once bob has a device again, restores them and the original bytes', () => {
      // Re-enrolled with the same addresses: all three tests can pass again.
      const again = planRelease(rel.newText!, 'ir-9', { inventory: inv });
      expect(again.status).toBe('ready');
      expect(again.warnings[0]).toMatch(/released earlier except for 3 parked test\(s\)/);
      expect(again.warnings.join('\n')).not.toMatch(/is gone/);
      expect(again.newText).toBe(text);
    });

    it('a later release while bob still has no device changes nothing', () => {
      const again = planRelease(rel.newText!, 'ir-9', { inventory: withoutBob });
      expect(again.status).toBe('nothing-to-release');
      expect(again.stillParked).toHaveLength(3);
    });

    it('re-enrolled with new addresses: the user test comes back, the address-bound ones stay out', () => {
      const bob2 = device(7, 'bob-laptop-2', 'bob@example.com');
      const again = planRelease(rel.newText!, 'ir-9', { inventory: { users, devices: [alice, carol, serverA, bob2] } });
      expect(again.status).toBe('ready');
      expect(again.stillParked.map((s) => s.text)).toEqual([BOB_IP_TEST, INTO_BOB_TEST]);
      expect(again.newText).toContain(BOB_TEST);
      expect(checkPolicy(again.newText!, { users, devices: [alice, carol, serverA, bob2] }).failures).toEqual([]);
    });
  });

  it('a user-owned device still carrying the quarantine tag counts as out of service', () => {
    const stillTagged: Inventory = { users, devices: [alice, { ...bob, tags: ['tag:quarantine-ir-9'] }, carol, serverA] };
    const rel = planRelease(plan.newText, 'ir-9', { inventory: stillTagged });
    expect(rel.status).toBe('ready');
    expect(rel.stillParked).toHaveLength(3);
    expect(rel.stillParked[0]?.reason).toContain('still tagged tag:quarantine-ir-9');
    expect(checkPolicy(rel.newText!, stillTagged).failures).toEqual([]);
  });

  it('is a conflict, releasing nothing, when a test that was never parked would fail', () => {
    // alice's laptop is gone too: her test was never parked, so release must not drop it.
    const rel = planRelease(plan.newText, 'ir-9', { inventory: { users, devices: [carol, serverA] } });
    expect(rel.status).toBe('conflict');
    expect(rel.newText).toBeUndefined();
    expect(rel.conflicts[0]).toMatch(/would fail its own tests .*alice@example\.com: no associated IPs/);
  });

  it('is a conflict when a parked test fails for another reason than its device being gone', () => {
    // bob is back, but someone narrowed the rule meanwhile: his test fails on its merits.
    const narrowed = plan.newText.replace('"dst": ["tag:a:22,443"]', '"dst": ["tag:a:443"]');
    const rel = planRelease(narrowed, 'ir-9', { inventory: inv });
    expect(rel.status).toBe('conflict');
    expect(rel.conflicts[0]).toMatch(/bob@example\.com: address "tag:a:22": want: Accept, got: Drop/);
  });

  it('checks against the inventory after a tagged target got its old tags back', () => {
    const tagged = planQuarantine(text, inv, { run: 'ir-10', targets: ['server-a'] });
    expect(tagged.status).toBe('ready');
    // server-a still carries the quarantine tag; release retags it to tag:a before the write.
    const current: Inventory = { users, devices: [alice, bob, carol, { ...serverA, tags: ['tag:quarantine-ir-10'] }] };
    const rel = planRelease(tagged.newText, 'ir-10', { inventory: current });
    expect(rel.status).toBe('ready');
    expect(rel.newText).toBe(text);
  });
});

describe('release of parked sshTests', () => {
  const SSH_TEST = '{"src": "bob@example.com", "dst": ["bob@example.com"], "accept": ["bob"]}';
  const sshText = `{
  "groups": {"group:incident-response": ["carol@example.com"]},
  "tagOwners": {"tag:a": []},
  "acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*", "tag:a:22"]}],
  "ssh": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["autogroup:nonroot"]}],
  "sshTests": [
    ${SSH_TEST},
    {"src": "alice@example.com", "dst": ["alice@example.com"], "accept": ["alice"]},
  ],
}
`;
  const plan = planQuarantine(sshText, inv, { run: 'ir-11', targets: ['bob-laptop'] });

  it('keeps an SSH test of the deleted device parked, and restores it once bob has a device again', () => {
    expect(plan.status).toBe('ready');
    expect(plan.parkedTests.map((t) => t.test)).toEqual([JSON.parse(SSH_TEST)]);
    const rel = planRelease(plan.newText, 'ir-11', { inventory: withoutBob });
    expect(rel.status).toBe('ready');
    expect(rel.stillParked).toMatchObject([{ section: 'sshTests', text: SSH_TEST }]);
    expect(rel.warnings.join('\n')).toContain('parked SSH test stays out');
    expect(checkPolicy(rel.newText!, withoutBob).failures).toEqual([]);
    const bob2 = device(8, 'bob-laptop-2', 'bob@example.com');
    expect(planRelease(rel.newText!, 'ir-11', { inventory: { users, devices: [alice, carol, serverA, bob2] } }).newText).toBe(sshText);
  });
});
