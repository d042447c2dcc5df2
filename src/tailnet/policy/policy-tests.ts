/**
 * The policy `tests` and `sshTests` blocks, judged the way Tailscale's control server does
 * (policy-semantics.md §7, headscale runPolicyTest which agrees with the SaaS captures): an
 * `accept` entry passes when every source address reaches some destination address on that
 * port; a `deny` entry passes when that is not the case. Failures use Tailscale's wording.
 */
import type { PolicyTest, PolicyTestFailure } from '../types.js';
import type { AddressSet} from './addresses.js';
import { parseIp, type ParsedIp } from './addresses.js';
import type { CompiledPolicy, DeviceEntry } from './evaluator.js';
import { splitHostPorts } from './policy-model.js';
import type { PostureAttrs } from './posture.js';
import { parseProto } from './protocols.js';

const NO_IPS = 'no associated IPs for user (check spelling, or they may not have an approved machine)';

function deviceIps(d: DeviceEntry): ParsedIp[] {
  const out: ParsedIp[] = [];
  if (d.v4 !== undefined) out.push({ family: 'v4', value: d.v4 });
  if (d.v6 !== undefined) out.push({ family: 'v6', value: d.v6 });
  return out;
}

function singleIp(set: AddressSet): ParsedIp | undefined {
  const [r4] = set.v4;
  const [r6] = set.v6;
  if (set.v4.length === 1 && set.v6.length === 0 && r4 && r4[0] === r4[1]) return { family: 'v4', value: r4[0] };
  if (set.v6.length === 1 && set.v4.length === 0 && r6 && r6[0] === r6[1]) return { family: 'v6', value: r6[0] };
  return undefined;
}

/** Resolve a test `src` to the addresses it stands for; a string result is the error. */
export function resolveTestSource(model: CompiledPolicy, src: string): ParsedIp[] | string {
  const p = model.policy;
  const devs = (pred: (d: DeviceEntry) => boolean): ParsedIp[] => model.devices.filter(pred).flatMap(deviceIps);
  let ips: ParsedIp[];
  if (src.startsWith('group:')) {
    const members = p.groups.get(src);
    if (!members) return `group ${JSON.stringify(src)} not found`;
    ips = devs((d) => d.owner !== undefined && members.includes(d.owner));
  } else if (src.startsWith('tag:')) {
    if (!p.tagOwners.has(src)) return `tag ${JSON.stringify(src)} not found`;
    ips = devs((d) => (d.device.tags ?? []).includes(src));
  } else if (src === 'autogroup:member') ips = devs((d) => !d.tagged);
  else if (src === 'autogroup:tagged') ips = devs((d) => d.tagged);
  else if (src.startsWith('autogroup:') || src === '*' || src.startsWith('ipset:')) return `invalid src ${JSON.stringify(src)}`;
  else if (src.includes('@')) ips = devs((d) => d.owner === src.toLowerCase());
  else {
    const host = p.hosts.get(src);
    const ip = host ? singleIp(host) : parseIp(src);
    if (!ip) return host ? `src ${JSON.stringify(src)}: host must be a single IP address, not a CIDR` : `invalid src ${JSON.stringify(src)}`;
    ips = [ip];
  }
  if (ips.length) return ips;
  return src.startsWith('tag:') || src.startsWith('autogroup:') ? `no associated IPs for ${JSON.stringify(src)} (no device carries it)` : NO_IPS;
}

/** Resolve a test destination `host:port`; a string result is the error. */
export function resolveTestDestination(model: CompiledPolicy, entry: string): { ips: ParsedIp[]; port: number } | string {
  const split = splitHostPorts(entry);
  if (!split || !/^\d+$/.test(split.ports) || Number(split.ports) > 65535)
    return `address ${JSON.stringify(entry)}: destination port must be a single number between 0 and 65535`;
  const port = Number(split.ports);
  const host = split.host;
  const p = model.policy;
  if (host.startsWith('tag:')) {
    if (!p.tagOwners.has(host)) return `address ${JSON.stringify(entry)}: tag ${JSON.stringify(host)} not found`;
    return { ips: model.devices.filter((d) => (d.device.tags ?? []).includes(host)).flatMap(deviceIps), port };
  }
  const alias = p.hosts.get(host);
  if (alias) {
    const ip = singleIp(alias);
    if (!ip) return `address ${JSON.stringify(entry)}: destination must be a single address, not a CIDR`;
    return { ips: [ip], port };
  }
  const ip = parseIp(host);
  if (ip) return { ips: [ip], port };
  return `address ${JSON.stringify(entry)}: destination must be a tag, a host alias or an IP address`;
}

/**
 * Does every source address reach some destination address of its own family? Source addresses
 * of a family the destination does not have are not asked (an IPv4-only host alias can pass a
 * test from a user whose devices also have IPv6: policytest-allpass-acls-and-grants-mixed).
 */
function reachesAll(model: CompiledPolicy, srcs: ParsedIp[], dsts: ParsedIp[], proto: number | undefined, port: number, attrs: PostureAttrs | undefined): boolean {
  let asked = 0;
  for (const s of srcs) {
    const same = dsts.filter((d) => d.family === s.family);
    if (same.length === 0) continue;
    asked++;
    if (!same.some((d) => model.grantsFor(s, d, proto, port, attrs).length > 0)) return false;
  }
  return asked > 0;
}

export function runPolicyTests(model: CompiledPolicy, tests: readonly unknown[]): PolicyTestFailure[] {
  const failures: PolicyTestFailure[] = [];
  for (const raw of tests) {
    const t = (typeof raw === 'object' && raw !== null ? raw : {}) as PolicyTest;
    const src = t.src ?? t.user ?? '';
    const errors: string[] = [];
    const accept = t.accept ?? t.allow ?? [];
    const deny = t.deny ?? [];
    let proto: number | undefined;
    if (t.proto !== undefined && t.proto !== '') {
      proto = parseProto(t.proto);
      if (proto === undefined) errors.push(`invalid proto ${JSON.stringify(t.proto)}`);
    }
    if (typeof src !== 'string' || src === '') errors.push('src is required');
    else if (accept.length === 0 && deny.length === 0) errors.push('test needs at least one accept or deny entry');
    if (errors.length) {
      failures.push({ user: String(src), errors });
      continue;
    }
    const srcs = resolveTestSource(model, src);
    if (typeof srcs === 'string') {
      failures.push({ user: src, errors: [srcs] });
      continue;
    }
    const attrs = t.srcPostureAttrs;
    for (const [want, list] of [['Accept', accept], ['Drop', deny]] as const)
      for (const entry of list) {
        const dst = resolveTestDestination(model, entry);
        if (typeof dst === 'string') {
          errors.push(dst);
          continue;
        }
        const got = reachesAll(model, srcs, dst.ips, proto, dst.port, attrs) ? 'Accept' : 'Drop';
        if (got !== want) errors.push(`address ${JSON.stringify(entry)}: want: ${want}, got: ${got}`);
      }
    if (errors.length) failures.push({ user: src, errors });
  }
  return failures;
}

// ---- sshTests ----

type SshVerdict = 'accept' | 'check' | 'deny';

function sshUserMatches(pattern: string, user: string, srcOwner: string | undefined): boolean {
  if (pattern === '*' || pattern === user) return true;
  if (pattern === 'autogroup:nonroot') return user !== 'root';
  const m = /^localpart:\*@(.+)$/.exec(pattern);
  if (m && srcOwner) {
    const [local, domain] = srcOwner.split('@');
    return domain === m[1]?.toLowerCase() && local === user;
  }
  return false;
}

/** What Tailscale SSH would do for `user` from device `src` to device `dst`. check beats accept. */
export function sshVerdict(model: CompiledPolicy, src: DeviceEntry, dst: DeviceEntry, user: string, attrs?: PostureAttrs): SshVerdict {
  let verdict: SshVerdict = 'deny';
  for (const rule of model.policy.ssh) {
    if (!model.postureHolds(rule.posture, attrs ?? src.attrs)) continue;
    const srcOk = rule.src.some((a) => {
      const sel = model.resolve(a, 'src');
      return model.covers(sel, src, 'v4') || model.covers(sel, src, 'v6');
    });
    if (!srcOk) continue;
    const dstOk = rule.dst.some((a) => {
      if (a.kind === 'autogroup' && a.name === 'self') return !src.tagged && !dst.tagged && src.owner === dst.owner;
      const sel = model.resolve(a, 'dst');
      return model.covers(sel, dst, 'v4') || model.covers(sel, dst, 'v6');
    });
    if (!dstOk || !rule.users.some((u) => sshUserMatches(u, user, src.owner))) continue;
    if (rule.action === 'check') return 'check';
    verdict = 'accept';
  }
  return verdict;
}

interface SshTest {
  src?: string;
  dst?: string[];
  accept?: string[];
  check?: string[];
  deny?: string[];
  srcPostureAttrs?: PostureAttrs;
}

function devicesFor(model: CompiledPolicy, sel: string): DeviceEntry[] | string {
  const ips = resolveTestSource(model, sel);
  if (typeof ips === 'string') return ips;
  const out = new Set<DeviceEntry>();
  for (const ip of ips) {
    const d = model.deviceAt(ip);
    if (d) out.add(d);
  }
  return out.size ? [...out] : `no devices for ${JSON.stringify(sel)}`;
}

export function runSshTests(model: CompiledPolicy, tests: readonly unknown[]): PolicyTestFailure[] {
  const failures: PolicyTestFailure[] = [];
  for (const raw of tests) {
    const t = (typeof raw === 'object' && raw !== null ? raw : {}) as SshTest;
    const src = t.src ?? '';
    const errors: string[] = [];
    const srcDevs = devicesFor(model, src);
    if (typeof srcDevs === 'string') {
      failures.push({ user: src, errors: [srcDevs] });
      continue;
    }
    for (const dstSel of t.dst ?? []) {
      const dstDevs = devicesFor(model, dstSel);
      if (typeof dstDevs === 'string') {
        errors.push(dstDevs);
        continue;
      }
      for (const [want, users] of [['accept', t.accept ?? []], ['check', t.check ?? []], ['deny', t.deny ?? []]] as const)
        for (const user of users) {
          let got: SshVerdict = want;
          for (const s of srcDevs)
            for (const d of dstDevs) {
              const v = sshVerdict(model, s, d, user, t.srcPostureAttrs);
              if (v !== want) got = v;
            }
          if (got !== want) errors.push(`ssh ${JSON.stringify(`${user}@${dstSel}`)}: want: ${want}, got: ${got}`);
        }
    }
    if (errors.length) failures.push({ user: src, errors });
  }
  return failures;
}
