import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../../src/core/errors.js';
import {
  CapabilityTable,
  checkPolicy,
  compilePolicy,
  computeBlastRadius,
  inventoryAfterQuarantine,
  parsePolicy,
  planQuarantine,
  planRelease,
} from '../../../../src/tailnet/policy/index.js';
import type { Inventory } from '../../../../src/tailnet/policy/index.js';
import { device, fixtureInventory, fixtureText, user } from './support.js';

const fixture = fixtureText('policy.hujson');
const inv = fixtureInventory();

const small: Inventory = {
  users: [user('alice@example.com', 'admin'), user('bob@example.com'), user('carol@example.com')],
  devices: [
    device(1, 'alice-laptop', 'alice@example.com'),
    device(2, 'bob-laptop', 'bob@example.com'),
    device(3, 'carol-laptop', 'carol@example.com'),
    device(4, 'server-a', 'alice@example.com', ['tag:a']),
    device(5, 'server-b', 'alice@example.com', ['tag:b']),
  ],
};
const IR = '"groups": {"group:incident-response": ["carol@example.com"]}';

describe('planQuarantine on the fixture tailnet', () => {
  const plan = planQuarantine(fixture, inv, { run: 'ir-1', targets: ['bob-laptop'], highRisk: ['tag:db:5432'] });

  it('is proven, with every check passing', () => {
    expect(plan.refusals).toEqual([]);
    expect(plan.status).toBe('ready');
    expect(plan.proof.length).toBeGreaterThanOrEqual(6);
    expect(plan.proof.every((c) => c.ok)).toBe(true);
  });

  it('retags the target and lists the steps in a safe order', () => {
    expect(plan.retag).toEqual([{ nodeId: 'n0003CNTRL', from: [], to: ['tag:quarantine-ir-1'] }]);
    expect(plan.steps.map((s) => s.kind)).toEqual(['set-policy', 'set-device-tags', 'set-policy']);
  });

  it('pins the quarantine with tests for both address families and the responders', () => {
    expect(plan.addedTests).toEqual([
      { src: '100.64.0.3', deny: ['tag:db:5432'] },
      { src: 'fd7a:115c:a1e0::3', deny: ['tag:db:5432'] },
      { src: 'group:incident-response', accept: ['tag:quarantine-ir-1:22'] },
    ]);
  });

  it('produces a policy the control-server check accepts with the retagged inventory', () => {
    expect(checkPolicy(plan.newText, inventoryAfterQuarantine(inv, plan)).failures).toEqual([]);
  });

  it('leaves the target unable to reach anything and nobody else changed', () => {
    const br = plan.blastRadius!;
    expect(br.othersChanged).toEqual([]);
    expect(br.targets[0]?.reachableAfter).toBe(0);
    expect(br.fromTargets.length).toBeGreaterThan(0);
    const model = compilePolicy(parsePolicy(plan.newText), inventoryAfterQuarantine(inv, plan));
    expect(model.rulesCoveringSource({ family: 'v4', value: 0x64400003 }).filter((r) => r.dsts.some((cd) => !cd.self))).toEqual([]);
  });

  it('is JSON-serialisable', () => {
    const round = JSON.parse(JSON.stringify(plan)) as typeof plan;
    expect(round.newText).toBe(plan.newText);
    expect(round.blastRadius?.pairsEvaluated).toBe(128);
  });

  it('releases back to the original bytes', () => {
    const rel = planRelease(plan.newText, 'ir-1');
    expect(rel.status).toBe('ready');
    expect(rel.newText).toBe(fixture);
    expect(rel.devices).toEqual([{ nodeId: 'n0003CNTRL', tags: [] }]);
  });
});

describe('release after other people edited the policy', () => {
  const plan = planQuarantine(fixture, inv, { run: 'ir-2', targets: ['web-1'] });
  const marker = '    // Engineers reach the web tier.';

  it('keeps later unrelated edits and removes only ours', () => {
    const edited = plan.newText.replace(marker, `    {"action": "accept", "src": ["group:eng"], "dst": ["tag:ci:9000"]},\n${marker}`);
    const rel = planRelease(edited, 'ir-2');
    expect(rel.status).toBe('ready');
    expect(rel.newText).toBe(fixture.replace(marker, `    {"action": "accept", "src": ["group:eng"], "dst": ["tag:ci:9000"]},\n${marker}`));
  });

  it('reports a conflict when a marked region was edited, and releases nothing', () => {
    const edited = plan.newText.replace('"tag:quarantine-ir-2": []', '"tag:quarantine-ir-2": ["group:eng"]');
    const rel = planRelease(edited, 'ir-2');
    expect(rel.status).toBe('conflict');
    expect(rel.newText).toBeUndefined();
    expect(rel.conflicts.join('\n')).toMatch(/was edited after the quarantine/);
  });

  it('reports a conflict when an end marker was deleted', () => {
    const edited = plan.newText.replace(/\/\* tailnet-ir quarantine ir-2 #1\/\d+ end \*\//, '');
    expect(planRelease(edited, 'ir-2').conflicts.join('\n')).toMatch(/end marker is missing/);
  });

  it('reports a conflict when something added later depends on our ipset', () => {
    const ipset = /"(ipset:quarantine-ir-2-\d+)"/.exec(plan.newText)?.[1];
    expect(ipset).toBeDefined();
    const edited = plan.newText.replace(marker, `    {"action": "accept", "src": ["${ipset}"], "dst": ["tag:ci:9000"]},\n${marker}`);
    const rel = planRelease(edited, 'ir-2');
    expect(rel.status).toBe('conflict');
    expect(rel.conflicts[0]).toMatch(/would be invalid .*ipset/);
  });

  it('does not touch another run', () => {
    const rel = planRelease(plan.newText, 'ir-other');
    expect(rel.status).toBe('nothing-to-release');
  });
});

describe('planQuarantine strategies and refusals', () => {
  it('makes an allow-all policy (no acls, no grants) explicit without the target', () => {
    const text = `{${IR}}`;
    const plan = planQuarantine(text, small, { run: 'r1', targets: ['bob-laptop'] });
    expect(plan.refusals).toEqual([]);
    expect(plan.newText).toContain('"acls"');
    expect(plan.blastRadius?.othersChanged).toEqual([]);
    expect(planRelease(plan.newText, 'r1').newText).toBe(text);
  });

  it('adds a grant for responders in a grants-only policy', () => {
    const text = `{${IR}, "grants": [{"src": ["*"], "dst": ["*"], "ip": ["*"]}]}`;
    const plan = planQuarantine(text, small, { run: 'r2', targets: ['bob-laptop'] });
    expect(plan.status).toBe('ready');
    expect(plan.newText).toContain('{"src": ["group:incident-response"], "dst": ["tag:quarantine-r2"], "ip": ["tcp:22"]}');
    expect(plan.newText).not.toContain('"acls"');
  });

  it('enumerates declared tags for autogroup:tagged when the target is tagged', () => {
    const text = `{${IR}, "tagOwners": {"tag:a": [], "tag:b": []}, "acls": [{"action": "accept", "src": ["autogroup:tagged"], "dst": ["alice@example.com:22"]}]}`;
    const plan = planQuarantine(text, small, { run: 'r3', targets: ['server-a'] });
    expect(plan.refusals).toEqual([]);
    expect(plan.newText).toMatch(/"tag:a", "tag:b"/);
    expect(plan.blastRadius?.othersChanged).toEqual([]);
  });

  it('removes an address literal that only named the target', () => {
    const text = `{${IR}, "tagOwners": {"tag:a": []}, "acls": [{"action": "accept", "src": ["100.64.0.2", "alice@example.com"], "dst": ["tag:a:22"]}]}`;
    const plan = planQuarantine(text, small, { run: 'r4', targets: ['bob-laptop'] });
    expect(plan.status).toBe('ready');
    expect(parsePolicy(plan.newText).rules.map((r) => r.srcTexts)).toEqual([['group:incident-response'], ['alice@example.com']]);
    expect(planRelease(plan.newText, 'r4').newText).toBe(text);
  });

  it('refuses when a "*" source shares a rule with autogroup:self and other destinations', () => {
    const text = `{${IR}, "tagOwners": {"tag:a": []}, "acls": [{"action": "accept", "src": ["*"], "dst": ["autogroup:self:*", "tag:a:22"]}]}`;
    const plan = planQuarantine(text, small, { run: 'r5', targets: ['bob-laptop'] });
    expect(plan.status).toBe('refused');
    expect(plan.steps).toEqual([]);
    expect(plan.refusals.join('\n')).toMatch(/autogroup:self/);
  });

  it('refuses a policy with keys it does not understand', () => {
    const plan = planQuarantine(`{${IR}, "mysteryKey": true, "acls": []}`, small, { run: 'r6', targets: ['bob-laptop'] });
    expect(plan.status).toBe('refused');
    expect(plan.refusals[0]).toMatch(/unknown top-level key "mysteryKey"/);
  });

  it('refuses when the responders group does not exist', () => {
    const plan = planQuarantine('{"acls": []}', small, { run: 'r7', targets: ['bob-laptop'] });
    expect(plan.status).toBe('refused');
    expect(plan.refusals.join('\n')).toMatch(/group:incident-response.*no such group/);
  });

  it('refuses when the only responder device is the target', () => {
    const plan = planQuarantine(`{${IR}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}`, small, { run: 'r8', targets: ['carol-laptop'] });
    expect(plan.status).toBe('refused');
    expect(plan.refusals.join('\n')).toMatch(/every responder reaches the target/);
  });

  describe('several responder selectors', () => {
    const text = `{${IR}, "tagOwners": {"tag:a": [], "tag:b": []}, "acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["tag:a:443"]}]}`;

    it('keeps tcp:22 for each of them (a group, a user and a tag) and pins each with its own test', () => {
      const plan = planQuarantine(text, small, { run: 'm1', targets: ['bob-laptop'], responders: ['group:incident-response', 'alice@example.com', 'tag:b'] });
      expect(plan.refusals).toEqual([]);
      expect(plan.responders).toEqual(['group:incident-response', 'alice@example.com', 'tag:b']);
      expect(plan.newText).toContain('{"action": "accept", "src": ["group:incident-response", "alice@example.com", "tag:b"], "proto": "tcp", "dst": ["tag:quarantine-m1:22"]}');
      expect(plan.addedTests.filter((t) => t.accept)).toEqual([
        { src: 'group:incident-response', accept: ['tag:quarantine-m1:22'] },
        { src: 'alice@example.com', accept: ['tag:quarantine-m1:22'] },
        { src: 'tag:b', accept: ['tag:quarantine-m1:22'] },
      ]);
      const gained = plan.blastRadius!.intoTargets.filter((c) => c.gained === 'tcp:22').map((c) => c.from);
      expect(new Set(gained)).toEqual(new Set(['carol-laptop', 'alice-laptop', 'server-b']));
      expect(plan.proof.find((c) => c.name.startsWith('every responder'))?.detail).toContain('alice@example.com');
      expect(planRelease(plan.newText, 'm1').newText).toBe(text);
    });

    it('refuses when one of them has no device that could keep SSH, naming it', () => {
      const plan = planQuarantine(text, small, { run: 'm2', targets: ['bob-laptop'], responders: ['group:incident-response', 'bob@example.com'] });
      expect(plan.status).toBe('refused');
      expect(plan.refusals.join('\n')).toMatch(/every responder reaches the target.*bob@example\.com: no associated IPs/);
    });

    it('checks each selector, and an empty list is a usage error', () => {
      const plan = planQuarantine(text, small, { run: 'm3', targets: ['bob-laptop'], responders: ['group:incident-response', 'group:nope'] });
      expect(plan.refusals.join('\n')).toMatch(/responders "group:nope": no such group/);
      expect(() => planQuarantine(text, small, { run: 'm4', targets: ['bob-laptop'], responders: [] })).toThrow(/at least one responder/);
    });
  });

  it('throws NotFoundError with the closest names for an unknown target', () => {
    expect(() => planQuarantine('{"acls": []}', small, { run: 'r9', targets: ['bob-lpatop'] })).toThrow(NotFoundError);
    expect(() => planQuarantine('{"acls": []}', small, { run: 'r9', targets: ['bob-lpatop'] })).toThrow(/Did you mean: bob-laptop/);
  });

  it('isolates inbound except the responders when asked', () => {
    const text = `{${IR}, "tagOwners": {"tag:a": []}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}`;
    const plan = planQuarantine(text, small, { run: 'r10', targets: ['server-a'], isolateInbound: true });
    expect(plan.refusals).toEqual([]);
    const into = plan.blastRadius!.intoTargets;
    expect(into.filter((c) => c.from === 'carol-laptop').every((c) => c.after === 'tcp:22')).toBe(true);
    expect(into.filter((c) => c.from === 'alice-laptop').every((c) => c.after === '')).toBe(true);
    expect(planRelease(plan.newText, 'r10').newText).toBe(text);
  });
});

describe('planQuarantine robustness', () => {
  it('narrows a rule even when the target currently fails its posture (a compromised node controls its reported posture)', () => {
    const text = `{${IR}, "tagOwners": {"tag:a": []}, "postures": {"posture:mac": ["node:os == 'macos'"]},
      "acls": [{"action": "accept", "src": ["*"], "dst": ["tag:a:22"], "srcPosture": ["posture:mac"]}]}`;
    const inv2: Inventory = { ...small, devices: small.devices.map((d) => (d.hostname === 'alice-laptop' ? { ...d, postureAttributes: { 'node:os': 'macos' } } : d)) };
    const plan = planQuarantine(text, inv2, { run: 'p1', targets: ['bob-laptop'] });
    expect(plan.status).toBe('ready');
    expect(plan.edits.some((e) => e.description.includes('source "*"'))).toBe(true);
  });

  it('refuses a policy with a repeated key', () => {
    const plan = planQuarantine(`{${IR}, "acls": [], "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}`, small, { run: 'p2', targets: ['bob-laptop'] });
    expect(plan.status).toBe('refused');
    expect(plan.refusals.join('\n')).toMatch(/repeats the key "acls"/);
  });

  it('refuses a device shared in from another tailnet', () => {
    const inv2: Inventory = { ...small, devices: small.devices.map((d) => (d.hostname === 'bob-laptop' ? { ...d, isExternal: true } : d)) };
    const plan = planQuarantine(`{${IR}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}`, inv2, { run: 'p3', targets: ['bob-laptop'] });
    expect(plan.refusals.join('\n')).toMatch(/shared into this tailnet/);
  });

  it('keeps CRLF line endings and releases them byte for byte', () => {
    const text = `{\r\n  ${IR},\r\n  "acls": [\r\n    {"action": "accept", "src": ["*"], "dst": ["*:*"]},\r\n  ],\r\n}\r\n`;
    const plan = planQuarantine(text, small, { run: 'p4', targets: ['bob-laptop'] });
    expect(plan.status).toBe('ready');
    expect(plan.newText.replace(/\r\n/g, '')).not.toContain('\n');
    expect(planRelease(plan.newText, 'p4').newText).toBe(text);
  });

  it('releases cleanly after a formatter re-indented a marked region', () => {
    const text = `{${IR}, "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]}`;
    const plan = planQuarantine(text, small, { run: 'p5', targets: ['bob-laptop'] });
    const reformatted = plan.newText.replace('"action": "accept", "src": ["group:incident-response"]', '"action":"accept",\n      "src":["group:incident-response"]');
    expect(reformatted).not.toBe(plan.newText);
    const rel = planRelease(reformatted, 'p5');
    expect(rel.conflicts).toEqual([]);
    expect(rel.newText).toBe(text);
  });
});

describe('computeBlastRadius', () => {
  it('counts IPv4 and IPv6 separately: an IPv4-only host alias rewrite is a loss', () => {
    const before = '{"tagOwners": {"tag:a": []}, "acls": [{"action": "accept", "src": ["alice@example.com"], "dst": ["tag:a:22"]}]}';
    const after = '{"tagOwners": {"tag:a": []}, "hosts": {"alice4": "100.64.0.1"}, "acls": [{"action": "accept", "src": ["alice4"], "dst": ["tag:a:22"]}]}';
    const caps = new CapabilityTable();
    const br = computeBlastRadius(compilePolicy(parsePolicy(before), small, caps), compilePolicy(parsePolicy(after), small, caps), []);
    expect(br.othersChanged).toHaveLength(1);
    expect(br.othersChanged[0]).toMatchObject({ from: 'alice-laptop', to: 'server-a', family: 'v6', lost: 'icmp:* tcp:22 udp:22 ipv6-icmp:*', after: '' });
  });

  it('sees equal access written differently as unchanged', () => {
    const a = '{"tagOwners": {"tag:a": []}, "acls": [{"action": "accept", "src": ["*"], "dst": ["tag:a:22,80"]}]}';
    const b = '{"tagOwners": {"tag:a": []}, "grants": [{"src": ["*"], "dst": ["tag:a"], "ip": ["22"]}, {"src": ["*"], "dst": ["tag:a"], "ip": ["80"]}]}';
    const caps = new CapabilityTable();
    const br = computeBlastRadius(compilePolicy(parsePolicy(a), small, caps), compilePolicy(parsePolicy(b), small, caps), []);
    expect(br.othersChanged).toEqual([]);
  });
});

describe('two quarantines on one policy', () => {
  const text = `{${IR}, "tagOwners": {"tag:a": []}, "acls": [{"action": "accept", "src": ["*"], "dst": ["tag:a:22"]}]}`;
  const first = planQuarantine(text, small, { run: 'one', targets: ['bob-laptop'] });
  const afterFirst = inventoryAfterQuarantine(small, first);
  const second = planQuarantine(first.newText, afterFirst, { run: 'two', targets: ['alice-laptop'] });

  it('plans the second on top of the first and says which must be released first', () => {
    expect(first.status).toBe('ready');
    expect(second.refusals).toEqual([]);
    expect(second.warnings.join('\n')).toMatch(/release this run \(two\) before releasing one/);
  });

  it('refuses to release the first while the second sits inside it, then releases both in order', () => {
    const early = planRelease(second.newText, 'one');
    expect(early.status).toBe('conflict');
    expect(early.conflicts.join('\n')).toMatch(/release two first/);
    const r2 = planRelease(second.newText, 'two');
    expect(r2.newText).toBe(first.newText);
    expect(planRelease(r2.newText!, 'one').newText).toBe(text);
  });

  it('lets the quarantine tag owners be chosen', () => {
    const plan = planQuarantine(text, small, { run: 'three', targets: ['bob-laptop'], quarantineTagOwners: ['tag:tailnet-ir'] });
    expect(plan.newText).toContain('"tag:quarantine-three": ["tag:tailnet-ir"]');
  });
});
