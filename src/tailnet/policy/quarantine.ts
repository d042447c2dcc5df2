/**
 * The quarantine planner. Strategy (docs/policy.md explains the trade-offs):
 *
 * 1. Retag the target to a run-specific, unused tag (`tag:quarantine-<run>`). Tagging removes a
 *    device's user identity, so every user, group, role, `autogroup:member`/`self` and old-tag
 *    selector stops matching it, without touching anyone else's rules.
 * 2. Rewrite only the selectors that still match the retagged target in rules that give it
 *    access: `*` → an ipset of the tailnet ranges minus the target, `autogroup:tagged` → the
 *    declared tags, CIDRs / host aliases / ipsets → an ipset `add X, remove <target>`.
 * 3. Add a responder rule (responders → quarantine tag, tcp:22) and, in a second stage after
 *    the retag, `tests` that pin the quarantine.
 * 4. Prove it: evaluate every (source, destination, family) pair before and after and refuse
 *    unless the target reaches nothing, nobody else changes, inbound only shrinks (responders'
 *    tcp:22 excepted), responders reach target:22 and all tests pass.
 *
 * Pure: the caller performs the steps (set policy, retag, set policy) the plan lists.
 */
import { findNodeAtLocation, type Node } from 'jsonc-parser';
import { UsageError } from '../../core/errors.js';
import type { Device, PolicyTest, PolicyTestFailure } from '../types.js';
import { AddressSet, formatIp, parseIp, type Family, type ParsedIp } from './addresses.js';
import { hasBit } from './bitset.js';
import { computeBlastRadius, type AccessChange, type BlastRadiusReport } from './blast-radius.js';
import { requireDevice } from './device-lookup.js';
import { CapabilityTable, compilePolicy, type CompiledPolicy, type DeviceEntry, type Inventory } from './evaluator.js';
import { PolicyInvalidError } from './errors.js';
import { applyMarkedEdits, compactJson, eol, findRegions, insertFirst, runsInText, isValidRunId, markerPrefix, quarantineTagFor, replaceElement, replaceElementRaw, runSlug, type MarkedEdit } from './policy-edit.js';
import { parsePolicy, splitHostPorts, type Alias, type NetworkRule, type Policy } from './policy-model.js';
import { resolveTestDestination, resolveTestSource, runPolicyTests, runSshTests } from './policy-tests.js';
import { positionAt } from './hujson.js';
import { unifiedDiff } from './text-diff.js';

export const DEFAULT_RESPONDERS = 'group:incident-response';

export interface QuarantineRequest {
  /** Run id: names the edits (markers, tag, ipsets) so release finds exactly ours. */
  run: string;
  /** Device references: name, MagicDNS name, Tailscale IP or node id. */
  targets: string[];
  /** Who keeps SSH into the target: one selector or several (users, groups, tags; default group:incident-response). */
  responders?: string | string[];
  /** High-risk destinations `HOST:PORT` the target must not reach; pinned as deny tests. */
  highRisk?: string[];
  /** Also cut access into the target, except the responders' SSH. */
  isolateInbound?: boolean;
  /** `tagOwners` of the quarantine tag: who may apply it (default `[]`: admins only). */
  quarantineTagOwners?: string[];
}

export type PlanStep =
  | { kind: 'set-policy'; stage: 'prepare' | 'final'; description: string; text: string }
  | { kind: 'set-device-tags'; nodeId: string; device: string; tags: string[]; previousTags: string[] };

export interface ProofCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface QuarantinePlan {
  kind: 'quarantine';
  run: string;
  /** The text that starts every comment marking our edits. */
  marker: string;
  status: 'ready' | 'refused';
  refusals: string[];
  warnings: string[];
  targets: { nodeId: string; name: string; addresses: string[]; previousTags: string[]; owner: string | undefined }[];
  /** Every selector that keeps tcp:22 into the target (each one pinned by its own test). */
  responders: string[];
  quarantineTag: string;
  /** Ordered steps to apply (empty when refused). */
  steps: PlanStep[];
  originalText: string;
  /** The policy after the prepare stage (before the retag): no pinning tests yet. */
  prepareText: string;
  newText: string;
  diff: string;
  edits: { n: number; stage: 'prepare' | 'final'; description: string }[];
  addedTests: PolicyTest[];
  /** Existing tests that asserted only the target's own access: removed until release. */
  parkedTests: ParkedTest[];
  retag: { nodeId: string; from: string[]; to: string[] }[];
  proof: ProofCheck[];
  blastRadius: BlastRadiusReport | undefined;
  /** Summary counts for people. */
  summary: { pairsEvaluated: number; othersChanged: number; targetLostPaths: number; inboundShrunk: number; inboundGained: number };
}

/** Object keys that appear twice in one object, anywhere in the document. */
function duplicateKeys(node: Node): string[] {
  const out: string[] = [];
  const walk = (n: Node) => {
    if (n.type === 'object') {
      const seen = new Set<string>();
      for (const prop of n.children ?? []) {
        const key = prop.children?.[0]?.value as string | undefined;
        if (key !== undefined) {
          if (seen.has(key)) out.push(key);
          seen.add(key);
        }
      }
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(node);
  return [...new Set(out)];
}


function ipsOf(d: DeviceEntry): ParsedIp[] {
  const out: ParsedIp[] = [];
  if (d.v4 !== undefined) out.push({ family: 'v4', value: d.v4 });
  if (d.v6 !== undefined) out.push({ family: 'v6', value: d.v6 });
  return out;
}

function hostPort(ip: ParsedIp, port: number): string {
  return ip.family === 'v6' ? `[${formatIp(ip)}]:${port}` : `${formatIp(ip)}:${port}`;
}

function label(d: Device): string {
  return (d.name ?? '').split('.')[0] || d.hostname || d.nodeId;
}

/** The inventory as the plan leaves it: targets carry only the quarantine tag. */
export function inventoryAfterQuarantine(inventory: Inventory, plan: Pick<QuarantinePlan, 'retag'>): Inventory {
  const to = new Map(plan.retag.map((r) => [r.nodeId, r.to]));
  return { users: inventory.users, devices: inventory.devices.map((d) => (to.has(d.nodeId) ? { ...d, tags: [...(to.get(d.nodeId) as string[])] } : d)) };
}

interface EditContext {
  text: string;
  policy: Policy;
  model: CompiledPolicy; // original policy, inventory after the retag
  before: CompiledPolicy; // original policy, original inventory
  targets: DeviceEntry[];
  run: string;
  qtag: string;
  ipsets: Map<string, string[]>; // name → entries
  ipsetByKey: Map<string, string>;
  edits: MarkedEdit[];
  refusals: string[];
}

function targetAddressSet(ctx: EditContext): AddressSet {
  return ctx.targets.flatMap(ipsOf).reduce((s, ip) => s.union(AddressSet.ip(ip)), AddressSet.empty);
}

function removeTargets(ctx: EditContext): string[] {
  return ctx.targets.flatMap(ipsOf).map((ip) => `remove ${formatIp(ip)}`);
}

function ipsetFor(ctx: EditContext, key: string, entries: () => string[]): string {
  let name = ctx.ipsetByKey.get(key);
  if (!name) {
    name = `ipset:quarantine-${runSlug(ctx.run)}-${ctx.ipsets.size + 1}`;
    ctx.ipsetByKey.set(key, name);
    ctx.ipsets.set(name, entries());
  }
  return name;
}

function tailnetIpset(ctx: EditContext): string {
  return ipsetFor(ctx, '*src', () => {
    const routes = new Set<string>();
    for (const d of ctx.model.devices) for (const r of d.device.enabledRoutes ?? []) if (r !== '0.0.0.0/0' && r !== '::/0') routes.add(r);
    return ['add 100.64.0.0/10', 'add fd7a:115c:a1e0::/48', ...[...routes].map((r) => `add ${r}`), 'remove 100.115.92.0/23', ...removeTargets(ctx)];
  });
}

function everythingIpset(ctx: EditContext): string {
  return ipsetFor(ctx, '*dst', () => ['add 0.0.0.0/0', 'add ::/0', ...removeTargets(ctx)]);
}

/** Does a resolved selector cover any target address (ignoring posture)? `before`: before the retag. */
function coversTarget(ctx: EditContext, alias: Alias, side: 'src' | 'dst', when: 'after' | 'before' = 'after'): boolean {
  if (alias.kind === 'autogroup' && alias.name === 'self') return false;
  const model = when === 'after' ? ctx.model : ctx.before;
  const sel = model.selector(alias, side);
  return ctx.targets.some((t) => {
    const d = model.devices[t.index] as DeviceEntry;
    return model.covers(sel, d, 'v4') || model.covers(sel, d, 'v6');
  });
}

/** Selectors that match everyone but the target, replacing `alias`; undefined = cannot. */
function replacementFor(ctx: EditContext, alias: Alias, text: string, side: 'src' | 'dst'): string[] | undefined {
  switch (alias.kind) {
    case 'all':
      return [side === 'src' ? tailnetIpset(ctx) : everythingIpset(ctx)];
    case 'autogroup':
      if (alias.name === 'tagged') return [...ctx.policy.tagOwners.keys()];
      if (alias.name === 'danger-all') return [everythingIpset(ctx)];
      return undefined;
    case 'prefix':
    case 'host':
    case 'ipset': {
      if (alias.addrs.subtract(targetAddressSet(ctx)).isEmpty()) return [];
      return [ipsetFor(ctx, `alias:${text}`, () => [`add ${text}`, ...removeTargets(ctx)])];
    }
    default:
      return undefined;
  }
}

function arrayNode(rule: NetworkRule, keys: string[]): Node | undefined {
  for (const k of keys) {
    const n = findNodeAtLocation(rule.node, [k]);
    if (n) return n;
  }
  return undefined;
}

function ruleName(rule: NetworkRule): string {
  return `${rule.kind === 'acl' ? 'acls' : 'grants'}[${rule.index}] (line ${rule.line})`;
}

function rewriteSources(ctx: EditContext, rule: NetworkRule): void {
  const givesAnything = rule.dst.some((d) => !(d.alias.kind === 'autogroup' && d.alias.name === 'self'));
  if (!givesAnything) return; // a tagged target never gets anything from autogroup:self
  const hasSelf = rule.dst.some((d) => d.alias.kind === 'autogroup' && d.alias.name === 'self');
  const arr = arrayNode(rule, ['src', 'users']);
  rule.src.forEach((alias, i) => {
    if (!coversTarget(ctx, alias, 'src')) return;
    const text = rule.srcTexts[i] as string;
    const node = arr?.children?.[i];
    const repl = replacementFor(ctx, alias, text, 'src');
    if (!repl || !node) {
      ctx.refusals.push(`${ruleName(rule)}: source ${JSON.stringify(text)} matches the target and cannot be narrowed without changing other devices' access`);
      return;
    }
    if (hasSelf && repl.some((r) => r.startsWith('ipset:') || r.startsWith('tag:')))
      ctx.refusals.push(`${ruleName(rule)}: source ${JSON.stringify(text)} matches the target, but the rule also uses autogroup:self, which cannot be combined with an ipset or tag source; split the rule by hand first`);
    ctx.edits.push(replaceElement(ctx.text, node, repl, 'prepare', `${ruleName(rule)}: source ${JSON.stringify(text)} → ${repl.length ? repl.join(', ') : '(removed: it only covered the target)'}`));
  });
}

/**
 * With isolateInbound, every destination covering the target is narrowed. Without it, only
 * those the retag makes newly cover the target (autogroup:tagged for a user-owned device), so
 * inbound access can only shrink.
 */
function rewriteDestinations(ctx: EditContext, rule: NetworkRule, isolateInbound: boolean): void {
  const arr = arrayNode(rule, ['dst', 'ports']);
  rule.dst.forEach((dst, i) => {
    if (!coversTarget(ctx, dst.alias, 'dst')) return;
    if (!isolateInbound && coversTarget(ctx, dst.alias, 'dst', 'before')) return;
    const node = arr?.children?.[i];
    const repl = replacementFor(ctx, dst.alias, dst.aliasText, 'dst');
    if (!repl || !node) {
      ctx.refusals.push(`${ruleName(rule)}: destination ${JSON.stringify(dst.text)} covers the target and cannot be narrowed`);
      return;
    }
    const ports = rule.kind === 'acl' ? splitHostPorts(dst.text)?.ports : undefined;
    const withPorts = ports === undefined ? repl : repl.map((r) => `${r}:${ports}`);
    ctx.edits.push(replaceElement(ctx.text, node, withPorts, 'prepare', `${ruleName(rule)}: destination ${JSON.stringify(dst.text)} → ${withPorts.length ? withPorts.join(', ') : '(removed)'}`));
  });
}

/** Insert `"key": value` into the root object, or ITEM into an existing container. */
function addToSection(ctx: EditContext, key: string, kind: 'array' | 'object', items: string[], stage: MarkedEdit['stage'], description: string, meta?: Record<string, unknown>): void {
  if (items.length === 0) return;
  const existing = findNodeAtLocation(ctx.policy.doc.root, [key]);
  if (existing && existing.type === (kind === 'array' ? 'array' : 'object')) {
    const edit = insertFirst(ctx.text, existing, items[0] as string, stage, description, meta);
    // Several items: one region, each on its own line with the same indentation.
    const ind = /\n([ \t]*)/.exec(edit.text)?.[1] ?? '  ';
    edit.text = items.map((it) => `${eol(ctx.text)}${ind}${it},`).join('');
    ctx.edits.push(edit);
    return;
  }
  if (existing) {
    ctx.refusals.push(`"${key}" is not ${kind === 'array' ? 'an array' : 'an object'}`);
    return;
  }
  const nl = eol(ctx.text);
  const body = items.map((i) => `    ${i},`).join(nl);
  const inner = kind === 'array' ? `[${nl}${body}${nl}  ]` : `{${nl}${body}${nl}  }`;
  ctx.edits.push(insertFirst(ctx.text, ctx.policy.doc.root, `${JSON.stringify(key)}: ${inner}`, stage, description, meta));
}

/** The request's responders as a de-duplicated list; an empty list is a usage error. */
function responderList(value: string | string[] | undefined): string[] {
  const list = [...new Set((value === undefined ? [DEFAULT_RESPONDERS] : typeof value === 'string' ? [value] : value).map((r) => r.trim()).filter(Boolean))];
  if (list.length === 0) throw new UsageError('name at least one responder (a user, group or tag that keeps SSH into the quarantined device)');
  return list;
}

function validateResponders(policy: Policy, responders: string): string | undefined {
  if (responders.startsWith('group:')) return policy.groups.has(responders) ? undefined : `responders ${JSON.stringify(responders)}: no such group in the policy (define it, or pass --responders)`;
  if (responders.startsWith('tag:')) return policy.tagOwners.has(responders) ? undefined : `responders ${JSON.stringify(responders)}: tag not in tagOwners`;
  if (responders.includes('@') && !responders.startsWith('user:')) return undefined;
  return `responders ${JSON.stringify(responders)}: must be a group, a tag or a user`;
}

function failuresText(f: PolicyTestFailure[]): string {
  return f.map((x) => `${x.user}: ${(x.errors ?? []).join('; ')}`).join(' | ');
}

function highRiskEntries(ctx: { model: CompiledPolicy; devices: Device[] }, entry: string): string[] {
  const split = splitHostPorts(entry);
  if (!split || !/^\d+$/.test(split.ports)) throw new UsageError(`--deny ${JSON.stringify(entry)}: expected HOST:PORT with one numeric port`);
  // Device names are not valid test destinations: pin both of the device's addresses.
  if (!split.host.startsWith('tag:') && !ctx.model.policy.hosts.has(split.host) && !/^[\d.]+$|:/.test(split.host)) {
    const dev = requireDevice(ctx.devices, split.host);
    const entryDev = ctx.model.devices.find((d) => d.device === dev) as DeviceEntry;
    return ipsOf(entryDev).map((ip) => hostPort(ip, Number(split.ports)));
  }
  return [entry];
}

/** Plan (and prove) a quarantine. Throws on bad input; returns status `refused` when no safe edit exists. */
export function planQuarantine(text: string, inventory: Inventory, request: QuarantineRequest): QuarantinePlan {
  const run = request.run;
  if (!isValidRunId(run)) throw new UsageError(`run id ${JSON.stringify(run)}: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  if (request.targets.length === 0) throw new UsageError('name at least one target device');
  const policy = parsePolicy(text);
  const responders = responderList(request.responders);
  const qtag = quarantineTagFor(run);
  const targetsDev = [...new Map(request.targets.map((t) => requireDevice(inventory.devices, t)).map((d) => [d.nodeId, d])).values()];
  const refusals: string[] = [];
  const warnings: string[] = [];
  for (const k of duplicateKeys(policy.doc.root)) refusals.push(`the policy repeats the key ${JSON.stringify(k)}; which copy counts is ambiguous, so the planner will not edit it`);
  for (const u of policy.unsupported) refusals.push(`the policy uses something the evaluator does not fully model: ${u}`);
  if (findRegions(text, run).regions.length > 0) refusals.push(`run ${run} has already edited this policy; release it first or use a new run id`);
  if (policy.tagOwners.has(qtag)) refusals.push(`${qtag} already exists in tagOwners; pick another run id`);
  for (const r of responders) {
    const respErr = validateResponders(policy, r);
    if (respErr) refusals.push(respErr);
  }
  for (const d of targetsDev) {
    if (d.isExternal) refusals.push(`${label(d)} is shared into this tailnet from another one: it cannot be retagged here; remove the share instead (DELETE /device/{id} is refused for shared devices)`);
    const routes = (d.enabledRoutes ?? []).filter((r) => r);
    if (routes.length)
      warnings.push(`${label(d)} is a subnet router/exit node for ${routes.join(', ')}: traffic it forwards from those networks still matches "*"; disable its routes (POST /device/{id}/routes {"routes": []})`);
  }

  const roles = new Set(['admin', 'owner', 'it-admin', 'network-admin', 'billing-admin', 'auditor']);
  const usesRoles = policy.rules.some((r) => [...r.src, ...r.dst.map((d) => d.alias)].some((a) => a.kind === 'autogroup' && roles.has(a.name)));
  if (usesRoles && inventory.users.length === 0)
    warnings.push('the policy uses role autogroups (autogroup:admin, …) but no user list was given: they match nobody in this evaluation; pass the users (GET /api/v2/tailnet/-/users)');

  const retag = targetsDev.map((d) => ({ nodeId: d.nodeId, from: [...(d.tags ?? [])], to: [qtag] }));
  const invAfter = inventoryAfterQuarantine(inventory, { retag });
  const capTable = new CapabilityTable();
  const m0 = compilePolicy(policy, inventory, capTable);
  const m0a = compilePolicy(policy, invAfter, capTable);
  const targetIdx = targetsDev.map((d) => m0.devices.findIndex((e) => e.device.nodeId === d.nodeId));
  const ctx: EditContext = {
    text,
    policy,
    model: m0a,
    before: m0,
    targets: targetIdx.map((i) => m0a.devices[i] as DeviceEntry),
    run,
    qtag,
    ipsets: new Map(),
    ipsetByKey: new Map(),
    edits: [],
    refusals,
  };

  // 1. Declare the quarantine tag (recording what release needs to know).
  addToSection(ctx, 'tagOwners', 'object', [`${JSON.stringify(qtag)}: ${compactJson(request.quarantineTagOwners ?? [])}`], 'prepare', `declare ${qtag} (retag target: ${targetsDev.map(label).join(', ')})`, {
    devices: retag.map((r) => ({ nodeId: r.nodeId, tags: r.from })),
  });

  // 2. Narrow selectors that still match the retagged target.
  const ownTests: PolicyTest[] = [];
  if (policy.allowAll) {
    // No acls/grants = allow all; make it explicit minus the target.
    const dst = request.isolateInbound ? `${everythingIpset(ctx)}:*` : '*:*';
    addToSection(ctx, 'acls', 'array', [compactJson({ action: 'accept', src: [tailnetIpset(ctx)], dst: [dst] }), compactJson({ action: 'accept', src: responders, proto: 'tcp', dst: [`${qtag}:22`] })], 'prepare', 'the implicit allow-all, made explicit without the target; responders keep SSH');
  } else {
    for (const rule of policy.rules) {
      const cr = m0a.rules.find((r) => r.rule === rule);
      const matches = ctx.targets.some((t) => (cr && (hasBit(cr.bits.v4, t.index) || hasBit(cr.bits.v6, t.index))) || rule.src.some((a) => coversTarget(ctx, a, 'src')));
      if (matches) rewriteSources(ctx, rule);
      rewriteDestinations(ctx, rule, request.isolateInbound === true);
    }
    // 3. Responders keep SSH into the target.
    const useGrants = policy.value.acls === undefined;
    addToSection(
      ctx,
      useGrants ? 'grants' : 'acls',
      'array',
      [useGrants ? compactJson({ src: responders, dst: [qtag], ip: ['tcp:22'] }) : compactJson({ action: 'accept', src: responders, proto: 'tcp', dst: [`${qtag}:22`] })],
      'prepare',
      `responders (${responders.join(', ')}) keep SSH to ${qtag}`,
    );
  }
  if (ctx.ipsets.size)
    addToSection(ctx, 'ipsets', 'object', [...ctx.ipsets].map(([name, entries]) => `${JSON.stringify(name)}: ${compactJson(entries)}`), 'prepare', `ipsets excluding the target: ${[...ctx.ipsets.keys()].join(', ')}`);

  // 4. Pinning tests (after the retag, so the target's own identity cannot satisfy them).
  const tIps = ctx.targets.flatMap(ipsOf);
  const highRisk = (request.highRisk ?? []).flatMap((e) => highRiskEntries({ model: m0, devices: inventory.devices }, e));
  for (const ip of tIps) {
    const entries = highRisk.filter((h) => {
      const f = entryFamily(h);
      return f === undefined || f === ip.family;
    });
    if (entries.length) ownTests.push({ src: formatIp(ip), deny: entries });
  }
  // One accept test per responder selector: a group whose only device is gone must not hide behind another.
  const responderTests: PolicyTest[] = responders.map((r) => ({ src: r, accept: [`${qtag}:22`] }));

  // Draft the prepare edits once: learn which existing tests only asserted the target's own
  // access (they must be parked until release) and what the target reached (pinned as denies).
  let autoPins: PolicyTest[] = [];
  let brFinal: BlastRadiusReport | undefined;
  const proof: ProofCheck[] = [];
  let newText = text;
  let prepareText = text;
  let added: PolicyTest[] = [];
  const parked: ParkedTest[] = [];
  try {
    const draftModel = compilePolicy(parsePolicy(applyMarkedEdits(text, ctx.edits, run, ['prepare'])), invAfter, capTable);
    parkTargetTests(ctx, m0, draftModel, parked);
    parkTargetSshTests(ctx, m0, draftModel, parked);
    const draftBr = computeBlastRadius(m0, draftModel, targetIdx);
    if (highRisk.length === 0) autoPins = pinsFromLostPaths(draftBr.fromTargets);
    added = [...ownTests, ...autoPins, ...responderTests];
    addToSection(ctx, 'tests', 'array', added.map(compactJson), 'final', `tests pinning the quarantine (${added.length})`);
    prepareText = applyMarkedEdits(text, ctx.edits, run, ['prepare']);
    newText = applyMarkedEdits(text, ctx.edits, run, ['prepare', 'final']);
    brFinal = prove(proof, { text, prepareText, newText, inventory, invAfter, capTable, m0, targetIdx, targets: ctx.targets, responders, responderTests, added });
  } catch (e) {
    if (!(e instanceof PolicyInvalidError)) throw e;
    refusals.push(`the edited policy would be invalid: ${e.message}`);
  }
  // Edits inside another run's regions make that run releasable only after this one.
  for (const other of runsInText(text).filter((r) => r !== run)) {
    const regions = findRegions(text, other).regions;
    const inside = ctx.edits.some((e) => regions.some((r) => e.offset < r.endEnd && e.offset + Math.max(e.length, 1) > r.beginStart));
    if (inside) warnings.push(`some edits sit inside quarantine run ${other}'s edits: release this run (${run}) before releasing ${other}`);
  }
  for (const t of parked) warnings.push(`parked test at line ${t.line} until release (${t.reason}): ${compactJson(t.test)}`);
  for (const c of proof) if (!c.ok) refusals.push(`proof failed: ${c.name}: ${c.detail}`);

  const ready = refusals.length === 0;
  const steps: PlanStep[] = ready
    ? [
        { kind: 'set-policy', stage: 'prepare', description: `declare ${qtag}, narrow selectors, add the responder rule`, text: prepareText },
        ...targetsDev.map((d): PlanStep => ({ kind: 'set-device-tags', nodeId: d.nodeId, device: label(d), tags: [qtag], previousTags: [...(d.tags ?? [])] })),
        { kind: 'set-policy', stage: 'final', description: 'add the tests that pin the quarantine', text: newText },
      ]
    : [];
  const br = brFinal;
  return {
    kind: 'quarantine',
    run,
    marker: markerPrefix(run),
    status: ready ? 'ready' : 'refused',
    refusals,
    warnings,
    targets: targetsDev.map((d, i) => ({ nodeId: d.nodeId, name: label(d), addresses: [...d.addresses], previousTags: [...(d.tags ?? [])], owner: m0.devices[targetIdx[i] as number]?.owner })),
    responders,
    quarantineTag: qtag,
    steps,
    originalText: text,
    prepareText,
    newText,
    diff: unifiedDiff(text, newText, 'policy (before)', 'policy (after quarantine)'),
    edits: ctx.edits.map((e, i) => ({ n: i + 1, stage: e.stage, description: e.description })),
    addedTests: added,
    parkedTests: parked,
    retag,
    proof,
    blastRadius: br,
    summary: {
      pairsEvaluated: br?.pairsEvaluated ?? 0,
      othersChanged: br?.othersChanged.length ?? 0,
      targetLostPaths: br?.fromTargets.length ?? 0,
      inboundShrunk: br?.intoTargets.filter((c) => c.lost !== '').length ?? 0,
      inboundGained: br?.intoTargets.filter((c) => c.gained !== '').length ?? 0,
    },
  };
}

/** Family of a literal `IP:port` / `[IPv6]:port` test destination; undefined for tags and aliases. */
function entryFamily(entry: string): Family | undefined {
  if (entry.startsWith('[')) return 'v6';
  const split = splitHostPorts(entry);
  return split ? parseIp(split.host)?.family : undefined;
}

export interface ParkedTest {
  index: number;
  line: number;
  test: unknown;
  reason: string;
}

function addressesOnlyTargets(ips: ParsedIp[], targets: DeviceEntry[]): boolean {
  const mine = new Set(targets.flatMap(ipsOf).map(formatIp));
  return ips.length > 0 && ips.every((ip) => mine.has(formatIp(ip)));
}

/**
 * Existing tests that fail only because the quarantine did its job — their source is just the
 * target, or every failing destination is just the target — are parked (removed, restored on
 * release) and listed. Any other failure is left for the proof, which then refuses the plan.
 */
function parkTargetTests(ctx: EditContext, m0: CompiledPolicy, draft: CompiledPolicy, parked: ParkedTest[]): void {
  const arr = findNodeAtLocation(ctx.policy.doc.root, ['tests']);
  ctx.policy.tests.forEach((test, index) => {
    const failures = runPolicyTests(draft, [test]);
    if (failures.length === 0) return;
    const t = test as PolicyTest;
    const src = resolveTestSource(m0, String(t.src ?? t.user ?? ''));
    let reason: string | undefined;
    if (typeof src !== 'string' && addressesOnlyTargets(src, ctx.targets)) reason = 'its source is only the quarantined device';
    else {
      const errors = failures.flatMap((f) => f.errors ?? []);
      const intoTarget = errors.every((e) => {
        const m = /^address "(.*)": want: /.exec(e);
        const dst = m ? resolveTestDestination(m0, m[1] as string) : undefined;
        return dst !== undefined && typeof dst !== 'string' && addressesOnlyTargets(dst.ips, ctx.targets);
      });
      if (intoTarget) reason = 'it asserts access into the quarantined device';
    }
    const node = arr?.children?.[index];
    if (!reason || !node) return;
    const line = positionAt(ctx.policy.doc.lineStarts, node.offset).line;
    parked.push({ index, line, test, reason });
    // The marker says it is a parked test, so release can tell it apart and keep it out while its device is gone.
    ctx.edits.push({ ...replaceElementRaw(ctx.text, node, [], 'prepare', `park the test at line ${line} until release: ${reason}`), meta: { parked: 'tests' } });
  });
}

/** The same for `sshTests`: parked when their source, or every destination, is only the target. */
function parkTargetSshTests(ctx: EditContext, m0: CompiledPolicy, draft: CompiledPolicy, parked: ParkedTest[]): void {
  const arr = findNodeAtLocation(ctx.policy.doc.root, ['sshTests']);
  ctx.policy.sshTests.forEach((test, index) => {
    if (runSshTests(draft, [test]).length === 0) return;
    const t = test as { src?: string; dst?: string[] };
    const only = (sel: string) => {
      const ips = resolveTestSource(m0, sel);
      return typeof ips !== 'string' && addressesOnlyTargets(ips, ctx.targets);
    };
    let reason: string | undefined;
    if (only(String(t.src ?? ''))) reason = 'its source is only the quarantined device';
    else if ((t.dst ?? []).length > 0 && (t.dst ?? []).every(only)) reason = 'it asserts SSH into the quarantined device only';
    const node = arr?.children?.[index];
    if (!reason || !node) return;
    const line = positionAt(ctx.policy.doc.lineStarts, node.offset).line;
    parked.push({ index, line, test, reason });
    ctx.edits.push({ ...replaceElementRaw(ctx.text, node, [], 'prepare', `park the SSH test at line ${line} until release: ${reason}`), meta: { parked: 'sshTests' } });
  });
}

function pinsFromLostPaths(lost: AccessChange[]): PolicyTest[] {
  const bySrc = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const c of lost) {
    if (c.samplePort === undefined || c.fromNodeId === c.toNodeId || seen.has(`${c.toNodeId}|${c.family}`)) continue;
    seen.add(`${c.toNodeId}|${c.family}`);
    const dst = c.family === 'v6' ? `[${c.toAddress}]:${c.samplePort}` : `${c.toAddress}:${c.samplePort}`;
    const list = bySrc.get(c.fromAddress) ?? [];
    if (list.length < 10) list.push(dst);
    bySrc.set(c.fromAddress, list);
  }
  return [...bySrc].map(([src, deny]) => ({ src, deny }));
}

interface ProveInput {
  text: string;
  prepareText: string;
  newText: string;
  inventory: Inventory;
  invAfter: Inventory;
  capTable: CapabilityTable;
  m0: CompiledPolicy;
  targetIdx: number[];
  targets: DeviceEntry[];
  responders: string[];
  responderTests: PolicyTest[];
  added: PolicyTest[];
}

/** Every claim of the plan, re-derived from the texts; a failed check refuses the plan. */
function prove(proof: ProofCheck[], p: ProveInput): BlastRadiusReport {
  const check = (name: string, ok: boolean, detail: string) => proof.push({ name, ok, detail });
  const before = runPolicyTests(p.m0, p.m0.policy.tests).concat(runSshTests(p.m0, p.m0.policy.sshTests));
  check('the current policy passes its own tests', before.length === 0, before.length ? `already failing (Tailscale would reject any write): ${failuresText(before)}` : 'yes');

  const finalPolicy = parsePolicy(p.newText);
  const m1 = compilePolicy(finalPolicy, p.invAfter, p.capTable);
  const br = computeBlastRadius(p.m0, m1, p.targetIdx);

  const residual = p.targets.flatMap((t) =>
    ipsOf(m1.devices[t.index] as DeviceEntry).flatMap((x) =>
      m1
        .rulesCoveringSource(x)
        // autogroup:self never applies to a tagged device, so a self-only rule grants it nothing.
        .filter((r) => r.dsts.some((cd) => !cd.self))
        .map((r) => `${formatIp(x)} via ${r.rule.kind === 'acl' ? 'acls' : 'grants'}[${r.rule.index}] (line ${r.rule.line})`),
    ),
  );
  const residualUnique = [...new Set(residual)];
  check('the target reaches nothing (no rule with a destination other than autogroup:self covers its addresses as a source, whatever posture it reports)', residualUnique.length === 0, residualUnique.length ? residualUnique.join('; ') : `verified for ${p.targets.map((t) => t.device.addresses.join(' and ')).join(', ')}`);

  check('every other device keeps exactly its access to every other device (IPv4 and IPv6 separately)', br.othersChanged.length === 0, br.othersChanged.length ? br.othersChanged.slice(0, 5).map(changeText).join('; ') : `${br.pairsEvaluated} pairs compared`);

  const responderDevices = new Set(runResponderDevices(m1, p.responders));
  const badGain = br.intoTargets.filter((c) => c.gained !== '' && !(c.gained === 'tcp:22' && responderDevices.has(c.fromNodeId)));
  check('access into the target only shrinks (responders may gain tcp:22)', badGain.length === 0, badGain.length ? badGain.slice(0, 5).map(changeText).join('; ') : `${br.intoTargets.filter((c) => c.lost !== '').length} inbound path(s) shrank`);

  const finalFailures = runPolicyTests(m1, finalPolicy.tests).concat(runSshTests(m1, finalPolicy.sshTests));
  check('existing and added tests pass on the new policy with the target retagged', finalFailures.length === 0, finalFailures.length ? failuresText(finalFailures) : `${finalPolicy.tests.length} tests, ${finalPolicy.sshTests.length} sshTests`);
  const respFail = runPolicyTests(m1, p.responderTests);
  check('every responder reaches the target on tcp:22', respFail.length === 0, respFail.length ? failuresText(respFail) : `yes (${p.responders.join(', ')})`);

  // The prepare stage goes live before the retag: it must already be safe on its own.
  const prepPolicy = parsePolicy(p.prepareText);
  const mp = compilePolicy(prepPolicy, p.inventory, p.capTable);
  const brp = computeBlastRadius(p.m0, mp, p.targetIdx);
  const prepGain = brp.fromTargets.filter((c) => c.gained !== '');
  const prepInGain = brp.intoTargets.filter((c) => c.gained !== '' && !(c.gained === 'tcp:22' && responderDevices.has(c.fromNodeId)));
  const prepFailures = runPolicyTests(mp, prepPolicy.tests).concat(runSshTests(mp, prepPolicy.sshTests));
  check(
    'the prepare stage (before the retag) is safe: nobody else changes, the target only loses, tests pass',
    brp.othersChanged.length === 0 && prepGain.length === 0 && prepInGain.length === 0 && prepFailures.length === 0,
    [brp.othersChanged.slice(0, 3).map(changeText).join('; '), prepGain.slice(0, 3).map(changeText).join('; '), prepInGain.slice(0, 3).map(changeText).join('; '), failuresText(prepFailures)].filter(Boolean).join(' | ') || 'yes',
  );
  return br;
}

function runResponderDevices(model: CompiledPolicy, responders: string[]): string[] {
  const p = model.policy;
  const isResponder = (d: DeviceEntry, r: string): boolean => {
    if (r.startsWith('group:')) return d.owner !== undefined && (p.groups.get(r) ?? []).includes(d.owner);
    if (r.startsWith('tag:')) return (d.device.tags ?? []).includes(r);
    return d.owner === r.toLowerCase();
  };
  return model.devices.filter((d) => responders.some((r) => isResponder(d, r))).map((d) => d.device.nodeId);
}

export function changeText(c: AccessChange): string {
  const fam = c.family === 'v4' ? 'IPv4' : 'IPv6';
  return `${c.from} → ${c.to} (${fam}): ${c.before || 'nothing'} ⇒ ${c.after || 'nothing'}`;
}

export type { Family };
