/**
 * Blast radius at scale: 5,000 devices × 2,000 rules. Goal: < 2 s and < 500 MB for one
 * before/after comparison of every (source, destination, family) pair; also reports a full
 * `planQuarantine` (which compiles and compares several times) and single-query throughput.
 * The tailnet is generated from a fixed seed so runs are comparable.
 */
import { performance } from 'node:perf_hooks';
import { resourceUsage } from 'node:process';
import type { Device, User } from '../src/tailnet/types.js';
import { CapabilityTable, compilePolicy, computeBlastRadius, inventoryAfterQuarantine, parseIp, parsePolicy, planQuarantine } from '../src/tailnet/policy/index.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 5000);
const RULES = Number(process.env.BENCH_RULES ?? 2000);

let seed = 0x5eed;
function rand(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
}
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)] as T;

const users: User[] = Array.from({ length: 500 }, (_, i) => ({
  id: `u${i}`,
  displayName: `User ${i}`,
  loginName: `user${i}@example.com`,
  type: 'member',
  role: i < 5 ? 'admin' : 'member',
  status: 'active',
}));
const tags = Array.from({ length: 60 }, (_, i) => `tag:svc${i}`);
const groups = Array.from({ length: 40 }, (_, i) => `group:team${i}`);
const devices: Device[] = Array.from({ length: DEVICES }, (_, i) => {
  const n = i + 1;
  const tagged = rand(10) < 3;
  return {
    id: String(n),
    nodeId: `n${n}`,
    addresses: [`100.64.${n >> 8}.${n & 255}`, `fd7a:115c:a1e0::${n.toString(16)}`],
    name: `host-${n}.tail0fake.ts.net`,
    hostname: `host-${n}`,
    user: (users[i < 20 ? 1 : rand(users.length)] as User).loginName,
    tags: tagged ? [...new Set([pick(tags), ...(rand(3) === 0 ? [pick(tags)] : [])])] : [],
  };
});
const ports = ['22', '80,443', '5432', '8000-8999', '*', '53', '6379'];
function rule(): string {
  const r = rand(100);
  const dst = `${pick(tags)}:${pick(ports)}`;
  if (r < 55) return `{"action": "accept", "src": [${JSON.stringify(pick(groups))}], "dst": [${JSON.stringify(dst)}]}`;
  if (r < 70) return `{"action": "accept", "src": [${JSON.stringify(pick(tags))}], "dst": [${JSON.stringify(dst)}, ${JSON.stringify(`${pick(tags)}:${pick(ports)}`)}]}`;
  if (r < 76) return `{"action": "accept", "src": [${JSON.stringify(pick(users).loginName)}], "dst": [${JSON.stringify(dst)}], "proto": "tcp"}`;
  if (r < 80) return `{"action": "accept", "src": ["*"], "dst": [${JSON.stringify(`${pick(tags)}:${pick(['443', '53'])}`)}]}`;
  if (r < 85) return `{"action": "accept", "src": ["autogroup:member"], "dst": [${JSON.stringify(dst)}]}`;
  if (r < 90) return `{"action": "accept", "src": [${JSON.stringify(`100.64.${rand(20)}.0/24`)}], "dst": [${JSON.stringify(dst)}]}`;
  if (r < 97) return `{"src": [${JSON.stringify(pick(groups))}], "dst": [${JSON.stringify(pick(tags))}], "ip": ["tcp:${pick(['22', '443', '3000-3999'])}", "udp:53"]}`;
  return `{"action": "accept", "src": [${JSON.stringify(pick(groups))}], "dst": ["autogroup:self:*"]}`;
}
const ruleTexts = Array.from({ length: RULES }, () => rule());
const groupDefs = groups.map((g) => `    ${JSON.stringify(g)}: ${JSON.stringify(Array.from({ length: 10 + rand(20) }, () => pick(users).loginName))}`);
groupDefs.push(`    "group:incident-response": ["user1@example.com", "user2@example.com"]`);
const text = `{
  "groups": {
${groupDefs.join(',\n')},
  },
  "tagOwners": {
${tags.map((t) => `    ${JSON.stringify(t)}: ["autogroup:admin"]`).join(',\n')},
  },
  "acls": [
${ruleTexts.filter((r) => r.includes('"action"')).map((r) => `    ${r}`).join(',\n')},
  ],
  "grants": [
${ruleTexts.filter((r) => !r.includes('"action"')).map((r) => `    ${r}`).join(',\n')},
  ],
}
`;
const inventory = { devices, users };

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
const rssPeak = () => resourceUsage().maxRSS * 1024;

console.log(`tailnet: ${DEVICES} devices, ${RULES} rules (${(text.length / 1024).toFixed(0)} KiB policy), ${users.length} users`);
const target = devices.find((d) => (d.tags ?? []).length === 0 && d.user !== 'user1@example.com' && d.user !== 'user2@example.com') as Device;

// 1. One blast-radius comparison: compile both sides, compare every pair.
let t0 = performance.now();
const cpu0 = process.cpuUsage();
const caps = new CapabilityTable();
const policy = parsePolicy(text);
const tParse = performance.now() - t0;
const before = compilePolicy(policy, inventory, caps);
const after = compilePolicy(policy, inventoryAfterQuarantine(inventory, { retag: [{ nodeId: target.nodeId, from: [], to: ['tag:svc0'] }] }), caps);
const tCompile = performance.now() - t0 - tParse;
const br = computeBlastRadius(before, after, [devices.indexOf(target)]);
const tBlast = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(
  `blast radius: ${br.pairsEvaluated.toLocaleString('en')} pairs in ${tBlast.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU ` +
    `(parse ${tParse.toFixed(0)} ms, compile both ${tCompile.toFixed(0)} ms, compare ${(tBlast - tParse - tCompile).toFixed(0)} ms); ` +
    `signatures ${br.signatures.before}/${br.signatures.after}; target paths changed ${br.fromTargets.length}, others changed ${br.othersChanged.length}; ` +
    `peak RSS ${mb(rssPeak())} — goal < 2000 ms and < 500 MB: ${tBlast < 2000 && rssPeak() < 500 * 1024 * 1024 ? 'MET' : 'NOT MET'}`,
);

if (process.env.BENCH_SKIP_PLAN) process.exit(0); // profiling the comparison alone
// 2. The whole planner (parse, compile ×4, compare ×3, tests, diff).
t0 = performance.now();
const cpuPlan0 = process.cpuUsage();
const plan = planQuarantine(text, inventory, { run: 'bench-1', targets: [target.nodeId], highRisk: ['tag:svc1:5432'] });
const tPlan = performance.now() - t0;
const cpuPlan = process.cpuUsage(cpuPlan0);
console.log(
  `planQuarantine: ${plan.status} in ${tPlan.toFixed(0)} ms wall, ${((cpuPlan.user + cpuPlan.system) / 1000).toFixed(0)} ms CPU ` +
    `(${plan.edits.length} edits, refusals: ${plan.refusals.length ? plan.refusals.slice(0, 2).join('; ') : 'none'}); peak RSS ${mb(rssPeak())}`,
);

// 3. Single-query throughput: can S reach D on tcp/port, with the granting rules.
const addrs = devices.map((d) => parseIp(d.addresses[0] as string)!);
const N = 20000;
t0 = performance.now();
let allowed = 0;
for (let i = 0; i < N; i++) if (before.grantsFor(addrs[rand(addrs.length)]!, addrs[rand(addrs.length)]!, 6, pick([22, 443, 5432, 8080])).length) allowed++;
const tq = performance.now() - t0;
console.log(`single queries: ${N} in ${tq.toFixed(0)} ms = ${Math.round((N / tq) * 1000).toLocaleString('en')} queries/s (${allowed} allowed)`);
console.log(`peak RSS overall: ${mb(rssPeak())}; heap used now ${mb(process.memoryUsage().heapUsed)}`);
