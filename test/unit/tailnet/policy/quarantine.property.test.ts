/**
 * Property tests over generated tailnets: for random policies and a random target, whenever the
 * planner says "ready", its claims are re-checked by brute force through the address-level
 * evaluator (`grantsFor` in reference mode: selector by selector, pair by pair, port by port —
 * not the bitsets and rows the planner used),
 * and releasing the edit restores the original text byte for byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Device } from '../../../../src/tailnet/types.js';
import {
  checkPolicy,
  compilePolicy,
  inventoryAfterQuarantine,
  parseIp,
  parsePolicy,
  planQuarantine,
  planRelease,
  runPolicyTests,
} from '../../../../src/tailnet/policy/index.js';
import type { CompiledPolicy, Inventory } from '../../../../src/tailnet/policy/index.js';
import { device, user } from './support.js';

// Generous: these explore many generated tailnets and must not fail because the machine is busy.
const PROPERTY_TIMEOUT_MS = 180_000;

const USERS = ['u0@example.com', 'u1@example.com', 'u2@example.com', 'ir@example.com'];
const TAGS = ['tag:t0', 'tag:t1', 'tag:t2'];
const PORTS = ['22', '80', '443', '5432', '*', '80-443', '22,5432'];
const SAMPLE_PORTS = [1, 22, 79, 80, 81, 443, 444, 5432, 8080, 65535];
const PROTOS = [6, 17, 1, 132];

interface Gen {
  devices: { owner: number; tags: number[] }[];
  rules: { grant: boolean; src: number[]; dst: { sel: number; port: number }[]; proto: number }[];
  target: number;
  comments: boolean;
  trailing: boolean;
  isolate: boolean;
}

const genArb: fc.Arbitrary<Gen> = fc.record({
  devices: fc.array(fc.record({ owner: fc.integer({ min: 0, max: 2 }), tags: fc.subarray([0, 1, 2], { maxLength: 2 }) }), { minLength: 2, maxLength: 7 }),
  rules: fc.array(
    fc.record({
      grant: fc.boolean(),
      src: fc.array(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 3 }),
      dst: fc.array(fc.record({ sel: fc.integer({ min: 0, max: 8 }), port: fc.integer({ min: 0, max: PORTS.length - 1 }) }), { minLength: 1, maxLength: 3 }),
      proto: fc.integer({ min: 0, max: 4 }),
    }),
    { minLength: 1, maxLength: 7 },
  ),
  target: fc.nat(),
  comments: fc.boolean(),
  trailing: fc.boolean(),
  isolate: fc.boolean(),
});

function inventoryOf(g: Gen): Inventory {
  const devices: Device[] = g.devices.map((d, i) => device(i + 1, `dev-${i + 1}`, USERS[d.owner] as string, d.tags.map((t) => TAGS[t] as string)));
  // The responder's laptop: always present, never the target.
  devices.push(device(50, 'ir-laptop', 'ir@example.com'));
  return { devices, users: USERS.map((u, i) => user(u, i === 0 ? 'admin' : 'member')) };
}

function srcSelector(n: number): string {
  return ['*', 'autogroup:member', 'autogroup:tagged', 'group:eng', 'u1@example.com', 'tag:t0', 'tag:t1', '100.64.0.0/29', '100.64.0.2', 'lan4', 'ipset:some', 'autogroup:admin'][n] as string;
}

function dstSelector(n: number, srcs: string[], grant: boolean): string {
  const selfOk = srcs.every((s) => s === 'group:eng' || s === 'u1@example.com' || s === 'autogroup:member' || (!grant && s === '*'));
  const list = ['*', 'tag:t0', 'tag:t2', 'u0@example.com', '100.64.0.0/30', 'lan4', 'autogroup:tagged', 'autogroup:member', selfOk ? 'autogroup:self' : 'tag:t1'];
  return list[n] as string;
}

function policyText(g: Gen): string {
  const c = (s: string) => (g.comments ? `  // ${s}\n` : '');
  const tc = g.trailing ? ',' : '';
  const rules = g.rules.map((r, i) => {
    const src = [...new Set(r.src.map(srcSelector))];
    if (r.grant) {
      const dst = [...new Set(r.dst.map((d) => dstSelector(d.sel, src, true)))];
      const ip = r.dst.map((d) => (r.proto === 1 ? `tcp:${PORTS[d.port]}` : (PORTS[d.port] as string)));
      return { kind: 'grants', text: `${c(`grant ${i}`)}    {"src": ${JSON.stringify(src)}, "dst": ${JSON.stringify(dst)}, "ip": ${JSON.stringify([...new Set(ip)])}}` };
    }
    const dst = [...new Set(r.dst.map((d) => `${dstSelector(d.sel, src, false)}:${PORTS[d.port]}`))];
    const proto = r.proto === 1 ? ', "proto": "tcp"' : r.proto === 2 ? ', "proto": "udp"' : '';
    return { kind: 'acls', text: `${c(`acl ${i}`)}    {"action": "accept", "src": ${JSON.stringify(src)}, "dst": ${JSON.stringify(dst)}${proto}}` };
  });
  const acls = rules.filter((r) => r.kind === 'acls').map((r) => r.text);
  const grants = rules.filter((r) => r.kind === 'grants').map((r) => r.text);
  const sections = [
    `  "groups": {"group:eng": ["u0@example.com", "u1@example.com"], "group:incident-response": ["ir@example.com"]${tc}}`,
    `  "tagOwners": {"tag:t0": [], "tag:t1": ["group:eng"], "tag:t2": []${tc}}`,
    `  "hosts": {"lan4": "100.64.0.3"${tc}}`,
    `  "ipsets": {"ipset:some": ["add 100.64.0.0/28", "remove 100.64.0.1"]}`,
  ];
  if (acls.length) sections.push(`${c('network rules')}  "acls": [\n${acls.join(',\n')}${tc}\n  ]`);
  if (grants.length) sections.push(`  "grants": [\n${grants.join(',\n')}${tc}\n  ]`);
  return `${g.comments ? '// generated\n' : ''}{\n${sections.join(',\n')}${tc}\n}\n`;
}

/** Brute force, address level: access (proto, port) sample set from s to d. */
function access(model: CompiledPolicy, s: Device, d: Device, family: 'v4' | 'v6'): Set<string> {
  const out = new Set<string>();
  const sa = s.addresses.map((a) => parseIp(a)!).find((a) => a.family === family);
  const da = d.addresses.map((a) => parseIp(a)!).find((a) => a.family === family);
  if (!sa || !da) return out;
  for (const proto of PROTOS)
    for (const port of SAMPLE_PORTS) {
      // The reference path matches selector by selector, independent of the compiled bitsets.
      const granted = model.grantsFor(sa, da, proto, port, undefined, { reference: true }).length > 0;
      expect(model.grantsFor(sa, da, proto, port).length > 0).toBe(granted);
      if (granted) out.add(`${proto}/${port}`);
    }
  return out;
}

/**
 * The policy with a `tests` block that passes on it: for a few sources (users, a group, a device
 * address) and destinations, whichever of accept/deny holds today.
 */
function withDerivedTests(text: string, inv: Inventory, trailing: boolean): string {
  const model = compilePolicy(parsePolicy(text), inv);
  const tests: string[] = [];
  for (const src of ['u0@example.com', 'u1@example.com', 'u2@example.com', 'group:eng', '100.64.0.1', '100.64.0.2'])
    for (const dst of ['tag:t0:22', 'tag:t2:443', '100.64.0.2:80', 'lan4:5432', '100.64.0.1:22']) {
      const accept = { src, accept: [dst] };
      const deny = { src, deny: [dst] };
      if (runPolicyTests(model, [accept]).length === 0) tests.push(JSON.stringify(accept));
      else if (runPolicyTests(model, [deny]).length === 0) tests.push(JSON.stringify(deny));
    }
  const tc = trailing ? ',' : '';
  return text.replace(/,?\n\}\n$/, `,\n  "tests": [\n${tests.map((t) => `    ${t}`).join(',\n')}${tc}\n  ]${tc}\n}\n`);
}

describe('quarantine properties (generated tailnets)', () => {
  it('a ready plan is proven by brute force, and release restores the original bytes', () => {
    let ready = 0;
    let total = 0;
    fc.assert(
      fc.property(genArb, (g) => {
        const text = policyText(g);
        const inv = inventoryOf(g);
        const target = inv.devices[g.target % g.devices.length] as Device;
        const plan = planQuarantine(text, inv, { run: 'prop-1', targets: [target.nodeId], isolateInbound: g.isolate });
        total++;
        if (plan.status !== 'ready') {
          expect(plan.refusals.length).toBeGreaterThan(0);
          expect(plan.steps).toEqual([]);
          return;
        }
        ready++;
        const after = inventoryAfterQuarantine(inv, plan);
        const m0 = compilePolicy(parsePolicy(text), inv);
        const m1 = compilePolicy(parsePolicy(plan.newText), after);
        const responders = new Set(inv.devices.filter((d) => d.user === 'ir@example.com' && !(d.tags ?? []).length && d.nodeId !== target.nodeId).map((d) => d.nodeId));
        for (const family of ['v4', 'v6'] as const)
          for (const s of inv.devices)
            for (const d of inv.devices) {
              const a0 = access(m0, s, d, family);
              const a1 = access(m1, after.devices.find((x) => x.nodeId === s.nodeId)!, after.devices.find((x) => x.nodeId === d.nodeId)!, family);
              if (s.nodeId === target.nodeId) expect([...a1]).toEqual([]);
              else if (d.nodeId !== target.nodeId) expect([...a1].sort()).toEqual([...a0].sort());
              else {
                for (const x of a1) if (!a0.has(x)) expect(responders.has(s.nodeId) && x === '6/22').toBe(true);
                // Isolated: only the responders' SSH gets in.
                if (g.isolate) for (const x of a1) expect(responders.has(s.nodeId) && x === '6/22').toBe(true);
              }
            }
        // The target reaches nothing at all, device or not.
        for (const a of target.addresses) expect(m1.rulesCoveringSource(parseIp(a)!).filter((r) => r.dsts.some((cd) => !cd.self))).toEqual([]);
        expect(checkPolicy(plan.newText, after).failures).toEqual([]);
        const released = planRelease(plan.newText, 'prop-1');
        expect(released.status).toBe('ready');
        expect(released.newText).toBe(text);
        // Checked against the inventory as it was: still byte for byte, nothing left parked.
        const checked = planRelease(plan.newText, 'prop-1', { inventory: inv });
        expect(checked.stillParked).toEqual([]);
        expect(checked.newText).toBe(text);
      }),
      { numRuns: Number(process.env.POLICY_PROPERTY_RUNS ?? 150), ...(process.env.POLICY_PROPERTY_RUNS ? {} : { seed: 20261121 }) },
    );
    // The generator must actually exercise the planner, not only its refusals.
    expect(ready / total).toBeGreaterThan(0.3);
  }, PROPERTY_TIMEOUT_MS);

  it('release after the target was deleted never proposes a text that fails its tests, and a later release restores the original bytes', () => {
    let parked = 0;
    let ready = 0;
    let kept = 0;
    fc.assert(
      fc.property(genArb, (g) => {
        const inv = inventoryOf(g);
        const text = withDerivedTests(policyText(g), inv, g.trailing);
        const target = inv.devices[g.target % g.devices.length] as Device;
        const plan = planQuarantine(text, inv, { run: 'prop-3', targets: [target.nodeId], isolateInbound: g.isolate });
        if (plan.status !== 'ready') return;
        ready++;
        parked += plan.parkedTests.length;
        const gone: Inventory = { users: inv.users, devices: inv.devices.filter((d) => d.nodeId !== target.nodeId) };
        const rel = planRelease(plan.newText, 'prop-3', { inventory: gone });
        const unchecked = planRelease(plan.newText, 'prop-3').newText as string;
        if (rel.status === 'conflict') {
          // Only when releasing everything really fails, and the failure is not only parked tests.
          expect(rel.newText).toBeUndefined();
          expect(checkPolicy(unchecked, gone).failures.length).toBeGreaterThan(0);
          return;
        }
        expect(checkPolicy(rel.newText as string, gone).failures).toEqual([]);
        kept += rel.stillParked.length;
        // Only parked tests are ever left out, and exactly the ones the plan parked.
        const parkedTexts = plan.parkedTests.map((t) => JSON.stringify(t.test));
        for (const s of rel.stillParked) expect(parkedTexts).toContain(JSON.stringify(s.test));
        if (rel.stillParked.length === 0) expect(rel.newText).toBe(unchecked);
        // The device comes back as it was: the next release restores the original bytes.
        const again = planRelease(rel.newText as string, 'prop-3', { inventory: inv });
        expect(again.stillParked).toEqual([]);
        expect(rel.stillParked.length ? again.newText : rel.newText).toBe(text);
      }),
      { numRuns: Number(process.env.POLICY_PROPERTY_RUNS ?? 100), ...(process.env.POLICY_PROPERTY_RUNS ? {} : { seed: 20261122 }) },
    );
    // The generator must actually produce plans with parked tests.
    expect(ready).toBeGreaterThan(20);
    expect(parked).toBeGreaterThan(5);
    expect(kept).toBeGreaterThan(5);
  }, PROPERTY_TIMEOUT_MS);

  it('release of a never-applied run finds nothing, and parse errors always carry line and column', () => {
    fc.assert(
      fc.property(genArb, fc.nat(), (g, cut) => {
        const text = policyText(g);
        expect(planRelease(text, 'prop-2').status).toBe('nothing-to-release');
        const truncated = text.slice(0, cut % text.length);
        try {
          parsePolicy(truncated);
        } catch (e) {
          expect((e as Error).message).toMatch(/^line \d+, column \d+: /);
        }
      }),
      { numRuns: 100, seed: 7 },
    );
  });
});
