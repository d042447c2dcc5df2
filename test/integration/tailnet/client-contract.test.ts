/**
 * Contract tests: the real HTTP client against the simulated tailnet over loopback HTTP, for
 * every endpoint the playbooks use and every error path the reference documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSim } from '../../../src/drill/sim/sim-server.js';
import {
  ApiNotFoundError,
  ApiPermissionError,
  ApiUnavailableError,
  PolicyConflictError,
  PolicyRejectedError,
  PolicyTestsFailedError,
} from '../../../src/tailnet/api-errors.js';
import type { TailscaleClient } from '../../../src/tailnet/tailscale-client.js';
import { clientFor, instantRetries, startDefaultSim } from '../../support/sim.js';

let sim: RunningSim;
let api: TailscaleClient;

beforeAll(async () => {
  sim = await startDefaultSim();
  api = clientFor(sim);
});
afterAll(async () => sim.close());

async function deviceByHost(hostname: string) {
  const d = (await api.listDevices()).find((x) => x.hostname === hostname);
  if (!d) throw new Error(`no device ${hostname}`);
  return d;
}

async function auditCount(): Promise<number> {
  return (await api.getConfigurationAuditLog()).logs.length;
}

describe('authentication', () => {
  it('refuses a wrong token with 401 and a permission error that does not echo the token', async () => {
    const bad = clientFor(sim, { credentials: { kind: 'api-key', apiKey: 'wrong-token-value-123' } });
    const err = await bad.listDevices().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiPermissionError);
    expect((err as ApiPermissionError).status).toBe(401);
    expect(JSON.stringify((err as ApiPermissionError).toJSON())).not.toContain('wrong-token-value-123');
    expect((err as Error).message).not.toContain('wrong-token-value-123');
  });

  it('accepts the token as Basic (username, empty password) and as Bearer', async () => {
    const basic = await fetch(`${sim.url}/api/v2/tailnet/-/devices`, {
      headers: { authorization: `Basic ${Buffer.from(`${sim.token}:`).toString('base64')}` },
    });
    const bearer = await fetch(`${sim.url}/api/v2/tailnet/-/devices`, { headers: { authorization: `Bearer ${sim.token}` } });
    expect([basic.status, bearer.status]).toEqual([200, 200]);
  });

  it('answers 404 "tailnet not found" for another tailnet name but accepts the organisation name', async () => {
    const other = clientFor(sim, { tailnet: 'someone-else.org' });
    await expect(other.listDevices()).rejects.toMatchObject({ status: 404, serverMessage: 'tailnet not found' });
    const named = clientFor(sim, { tailnet: 'example.com' });
    expect((await named.listDevices()).length).toBeGreaterThan(0);
  });
});

describe('policy file', () => {
  it('serves HuJSON with comments and a quoted 64-hex ETag by default, JSON on request', async () => {
    const policy = await api.getPolicy();
    expect(policy.text).toContain('// Example Corp tailnet policy.');
    expect(policy.etag).toMatch(/^[0-9a-f]{64}$/);
    const raw = await fetch(`${sim.url}/api/v2/tailnet/-/acl`, { headers: { authorization: `Bearer ${sim.token}` } });
    expect(raw.headers.get('etag')).toBe(`"${policy.etag}"`);
    expect(raw.headers.get('content-type')).toContain('application/hujson');
    const json = await fetch(`${sim.url}/api/v2/tailnet/-/acl`, { headers: { authorization: `Bearer ${sim.token}`, accept: 'application/json' } });
    const body = (await json.json()) as { groups: Record<string, string[]> };
    expect(body.groups['group:incident-response']).toEqual(['carol@example.com']);
  });

  it('saves with a matching If-Match, returns the new ETag and appends one audit entry', async () => {
    const before = await api.getPolicy();
    const count = await auditCount();
    const edited = before.text.replace('// Example Corp tailnet policy.', '// Example Corp tailnet policy (edited).');
    const saved = await api.setPolicy(edited, { ifMatch: before.etag });
    expect(saved.etag).not.toBe(before.etag);
    expect((await api.getPolicy()).text).toBe(edited);
    const logs = (await api.getConfigurationAuditLog()).logs;
    expect(logs).toHaveLength(count + 1);
    expect(logs.at(-1)).toMatchObject({ action: 'UPDATE', target: { type: 'TAILNET', property: 'ACL' }, origin: 'CONFIG_API' });
  });

  it('rejects a stale If-Match with 412 "precondition failed, invalid old hash" and saves nothing', async () => {
    const current = await api.getPolicy();
    const count = await auditCount();
    const err = await api.setPolicy(current.text + '\n// x\n', { ifMatch: 'f'.repeat(64) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyConflictError);
    expect((err as PolicyConflictError).serverMessage).toBe('precondition failed, invalid old hash');
    expect((await api.getPolicy()).etag).toBe(current.etag);
    expect(await auditCount()).toBe(count);
  });

  it('rejects a policy whose tests fail with 400 "test(s) failed", structured failures, nothing saved', async () => {
    const current = await api.getPolicy();
    // Drop the rule that lets the web tier reach the database: the file's own test must fail.
    const broken = current.text.replace('{"action": "accept", "src": ["tag:web"], "dst": ["prod-db:5432"]},', '');
    expect(broken).not.toBe(current.text);
    const err = await api.setPolicy(broken, { ifMatch: current.etag }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyTestsFailedError);
    const failures = (err as PolicyTestsFailedError).failures;
    expect(failures).toContainEqual({ user: 'tag:web', errors: ['address "prod-db:5432": want: Accept, got: Drop'] });
    expect((await api.getPolicy()).etag).toBe(current.etag);
  });

  it('rejects malformed HuJSON with a line/column message', async () => {
    const current = await api.getPolicy();
    const err = await api.setPolicy('{\n  "acls": [\n    {"action": "accept" "src": ["*"]}\n  ]\n}\n', { ifMatch: current.etag }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyRejectedError);
    expect((err as PolicyRejectedError).serverMessage).toMatch(/line 3, column \d+/);
  });

  it('If-Match "ts-default" only succeeds on the untouched default policy', async () => {
    const err = await api.setPolicy((await api.getPolicy()).text, { ifMatch: 'ts-default' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyConflictError);
  });

  it('validate: 200 with message and data on failing tests, empty on success, never saves', async () => {
    const current = await api.getPolicy();
    const count = await auditCount();
    expect(await api.validatePolicy(current.text)).toEqual({});
    const bad = await api.validatePolicy(current.text.replace('"deny": ["tag:web:22"]', '"deny": ["tag:web:443"]'));
    expect(bad).toEqual({ message: 'test(s) failed', data: [{ user: 'bob@example.com', errors: ['address "tag:web:443": want: Drop, got: Accept'] }] });
    expect((await api.getPolicy()).etag).toBe(current.etag);
    expect(await auditCount()).toBe(count);
  });

  it('validate with a tests array runs them against the saved policy', async () => {
    expect(await api.runPolicyTests([{ src: 'carol@example.com', accept: ['tag:db:22'] }])).toEqual({});
    const r = await api.runPolicyTests([{ src: 'dave@example.com', accept: ['tag:ci:22'] }]);
    expect(r.message).toBe('test(s) failed');
    expect(r.data?.[0]).toEqual({ user: 'dave@example.com', errors: ['address "tag:ci:22": want: Accept, got: Drop'] });
  });

  it('preview lists the rules (with line numbers) that apply to a user or reach an IP:port', async () => {
    const text = (await api.getPolicy()).text;
    const forCarol = (await api.previewPolicy(text, 'user', 'carol@example.com')) as { matches: { ports: string[]; lineNumber: number }[] };
    const sshRule = forCarol.matches.find((m) => m.ports.includes('*:22'))!;
    expect(text.split('\n')[sshRule.lineNumber - 1]).toContain('"src": ["group:incident-response"], "dst": ["*:22"]');
    const db = (await api.listDevices()).find((d) => d.hostname === 'db-1')!;
    const toDb = (await api.previewPolicy(text, 'ipport', `${db.addresses[0]}:5432`)) as { matches: { users: string[]; ports: string[] }[] };
    expect(toDb.matches.flatMap((m) => m.ports)).toEqual(expect.arrayContaining(['tag:db:5432', 'prod-db:5432']));
    expect(toDb.matches.flatMap((m) => m.users)).toEqual(expect.arrayContaining(['tag:web', 'bob@example.com']));
    await expect(api.previewPolicy(text, 'user', 'nobody@example.com')).rejects.toMatchObject({ status: 400 });
  });

  it('details=true returns the base64 policy', async () => {
    const res = await fetch(`${sim.url}/api/v2/tailnet/-/acl?details=true`, { headers: { authorization: `Bearer ${sim.token}` } });
    const body = (await res.json()) as { acl: string; warnings: string[] };
    expect(Buffer.from(body.acl, 'base64').toString('utf8')).toBe((await api.getPolicy()).text);
  });
});

describe('devices', () => {
  it('lists devices with addresses, names and tags; routes only with fields=all', async () => {
    const devices = await api.listDevices();
    const web = devices.find((d) => d.hostname === 'web-1')!;
    expect(web.tags).toEqual(['tag:web']);
    expect(web.name).toBe('web-1.tail4a1b2c.ts.net');
    expect(web.addresses[0]).toMatch(/^100\./);
    expect(web.addresses[1]).toMatch(/^fd7a:115c:a1e0:/);
    expect(devices.find((d) => d.hostname === 'office-router')!.enabledRoutes).toBeUndefined();
    const all = await api.listDevices({ all: true });
    expect(all.find((d) => d.hostname === 'office-router')!.enabledRoutes).toEqual(['192.168.50.0/24']);
  });

  it('gets a device by nodeId and by legacy id', async () => {
    const d = await deviceByHost('db-1');
    expect((await api.getDevice(d.nodeId)).hostname).toBe('db-1');
    expect((await api.getDevice(d.id)).nodeId).toBe(d.nodeId);
  });

  it('unknown device → ApiNotFoundError naming the id', async () => {
    const err = await api.getDevice('nNOPE123CNTRL').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiNotFoundError);
    expect((err as Error).message).toContain('device not found: "nNOPE123CNTRL"');
  });

  it('replaces tags, refusing tags not in tagOwners with Tailscale\'s message', async () => {
    const d = await deviceByHost('web-2');
    await api.setDeviceTags(d.nodeId, ['tag:web', 'tag:quarantine']);
    expect((await api.getDevice(d.nodeId)).tags).toEqual(['tag:web', 'tag:quarantine']);
    await expect(api.setDeviceTags(d.nodeId, ['tag:nope'])).rejects.toMatchObject({
      status: 400,
      serverMessage: 'requested tags [tag:nope] are invalid or not permitted',
    });
    await expect(api.setDeviceTags(d.nodeId, [])).rejects.toMatchObject({ status: 400, serverMessage: expect.stringContaining('re-authenticate') });
    await api.setDeviceTags(d.nodeId, ['tag:web']);
  });

  it('expires the node key, de-authorizes, toggles key expiry and sets routes', async () => {
    const d = await deviceByHost('office-router');
    await api.expireDevice(d.nodeId);
    expect(Date.parse((await api.getDevice(d.nodeId)).expires!)).toBeLessThanOrEqual(Date.now());
    await api.setDeviceAuthorized(d.nodeId, false);
    expect((await api.getDevice(d.nodeId)).authorized).toBe(false);
    await api.setDeviceAuthorized(d.nodeId, true);
    const routes = await api.setDeviceRoutes(d.nodeId, []);
    expect(routes).toEqual({ advertisedRoutes: ['192.168.50.0/24'], enabledRoutes: [] });
    expect(await api.getDeviceRoutes(d.nodeId)).toEqual(routes);
  });

  it('sets, reads and deletes custom posture attributes', async () => {
    const d = await deviceByHost('bob-laptop');
    await api.setPostureAttribute(d.nodeId, 'custom:quarantined', true, { comment: 'drill' });
    expect((await api.getPostureAttributes(d.nodeId)).attributes['custom:quarantined']).toBe(true);
    await expect(api.setPostureAttribute(d.nodeId, 'node:os', 'x')).rejects.toMatchObject({ status: 400 });
    await api.deletePostureAttribute(d.nodeId, 'custom:quarantined');
    expect((await api.getPostureAttributes(d.nodeId)).attributes['custom:quarantined']).toBeUndefined();
  });

  it('deleted devices disappear from get and list, with an audit entry', async () => {
    const d = await deviceByHost('dave-phone');
    await api.deleteDevice(d.nodeId);
    await expect(api.getDevice(d.nodeId)).rejects.toBeInstanceOf(ApiNotFoundError);
    expect((await api.listDevices()).some((x) => x.nodeId === d.nodeId)).toBe(false);
    const logs = (await api.getConfigurationAuditLog({ event: ['DELETE'] })).logs;
    expect(logs.some((l) => l.target.id === d.nodeId && l.target.type === 'NODE')).toBe(true);
    await expect(api.deleteDevice(d.nodeId)).rejects.toBeInstanceOf(ApiNotFoundError);
  });
});

describe('auth keys', () => {
  it('returns a created key\'s secret once; get and list never show it', async () => {
    const created = await api.createKey({
      capabilities: { devices: { create: { reusable: false, preauthorized: true, tags: ['tag:web'] } } },
      expirySeconds: 3600,
      description: 'tailnet-ir run 1',
    });
    expect(created.key).toMatch(/^tskey-auth-/);
    const fetched = await api.getKey(created.id);
    expect(fetched.key).toBeUndefined();
    expect(fetched.capabilities?.devices?.create?.tags).toEqual(['tag:web']);
    expect((await api.listKeys()).find((k) => k.id === created.id)?.key).toBeUndefined();
  });

  it('revokes a key: gone from the list, get shows invalid with a revoked time', async () => {
    await api.deleteKey('k3WebTierCNTRL');
    expect((await api.listKeys()).some((k) => k.id === 'k3WebTierCNTRL')).toBe(false);
    const k = await api.getKey('k3WebTierCNTRL');
    expect(k.invalid).toBe(true);
    expect(k.revoked).toBeTruthy();
  });

  it('refuses keys with tags missing from tagOwners', async () => {
    await expect(api.createKey({ capabilities: { devices: { create: { tags: ['tag:nope'] } } } })).rejects.toMatchObject({ status: 400 });
  });

  it('unknown key → not found', async () => {
    await expect(api.getKey('kMissingCNTRL')).rejects.toBeInstanceOf(ApiNotFoundError);
  });
});

describe('users', () => {
  it('lists and filters users, suspends and restores with audit entries', async () => {
    const users = await api.listUsers();
    const bob = users.find((u) => u.loginName === 'bob@example.com')!;
    expect(bob.status).toBe('active');
    expect((await api.listUsers({ role: 'admin' })).map((u) => u.loginName)).toEqual(['alice@example.com']);
    await api.suspendUser(bob.id);
    expect((await api.getUser(bob.id)).status).toBe('suspended');
    await api.restoreUser(bob.id);
    expect((await api.getUser(bob.id)).status).toBe('active');
    const actions = (await api.getConfigurationAuditLog({ target: [bob.id] })).logs.map((l) => l.action);
    expect(actions).toEqual(['SUSPEND', 'RESTORE']);
  });

  it('the token\'s own user cannot be suspended (403)', async () => {
    const alice = (await api.listUsers()).find((u) => u.loginName === 'alice@example.com')!;
    await expect(api.suspendUser(alice.id)).rejects.toBeInstanceOf(ApiPermissionError);
  });

  it('unknown user → not found with the id', async () => {
    await expect(api.getUser('u-nobody')).rejects.toThrow('user not found: "u-nobody"');
  });
});

describe('logging and settings', () => {
  it('filters the configuration audit log by time window and actor', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await api.getConfigurationAuditLog({ start: future })).logs).toEqual([]);
    const byAlice = (await api.getConfigurationAuditLog({ actor: ['~alice'] })).logs;
    expect(byAlice.length).toBeGreaterThan(0);
    expect(byAlice.every((l) => l.actor.loginName === 'alice@example.com')).toBe(true);
  });

  it('network flow logs need the tailnet setting; settings are readable', async () => {
    expect((await api.getSettings()).networkFlowLoggingOn).toBe(false);
    await expect(api.getNetworkFlowLogs({ start: new Date(0).toISOString(), end: new Date().toISOString() })).rejects.toMatchObject({ status: 403 });
  });
});

describe('fault injection and retries', () => {
  it('retries a 429 burst on an idempotent call with backoff, then succeeds', async () => {
    const env = instantRetries();
    const client = clientFor(sim, { retryEnvironment: env });
    sim.faults.add({ kind: 'status', route: 'GET /api/v2/tailnet/*/devices', status: 429, times: 3 });
    expect((await client.listDevices()).length).toBeGreaterThan(0);
    expect(env.sleeps).toHaveLength(3);
  });

  it('gives up after the bounded attempts with ApiUnavailableError', async () => {
    const client = clientFor(sim, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, maxElapsedMs: 10_000 } });
    sim.faults.add({ kind: 'status', route: 'GET /api/v2/tailnet/*/users', status: 500, times: 5 });
    const err = await client.listUsers().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiUnavailableError);
    expect((err as ApiUnavailableError).attempts).toBe(3);
    sim.faults.clear();
  });

  it('does not retry a non-idempotent call (create key) on 500', async () => {
    const env = instantRetries();
    const client = clientFor(sim, { retryEnvironment: env });
    sim.faults.add({ kind: 'status', route: 'POST /api/v2/tailnet/*/keys', status: 500, times: 1 });
    await expect(client.createKey({ capabilities: { devices: { create: { tags: ['tag:web'] } } } })).rejects.toMatchObject({ status: 500 });
    expect(env.sleeps).toHaveLength(0);
  });

  it('403 on a route surfaces as a permission error', async () => {
    sim.faults.add({ kind: 'status', route: 'POST /api/v2/users/*/suspend', status: 403, times: 1 });
    const bob = (await api.listUsers()).find((u) => u.loginName === 'bob@example.com')!;
    await expect(api.suspendUser(bob.id)).rejects.toBeInstanceOf(ApiPermissionError);
    expect((await api.getUser(bob.id)).status).toBe('active');
  });

  it('a concurrent policy edit between GET and POST yields 412', async () => {
    sim.faults.add({ kind: 'concurrent-policy-edit', times: 1 });
    const read = await api.getPolicy();
    await expect(api.setPolicy(read.text, { ifMatch: read.etag })).rejects.toBeInstanceOf(PolicyConflictError);
    const reread = await api.getPolicy();
    expect(reread.text).toContain('// edited in the admin console');
    const saved = await api.setPolicy(reread.text, { ifMatch: reread.etag });
    expect(saved.etag).toBe(reread.etag);
  });

  it('a slow API hits the per-request timeout and is reported as unavailable', async () => {
    sim.faults.add({ kind: 'latency', route: 'GET /api/v2/tailnet/*/settings', ms: 400 });
    const client = clientFor(sim, { timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 5_000 } });
    const err = await client.getSettings().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiUnavailableError);
    expect((err as Error).message).toContain('no answer within 100 ms');
    sim.faults.clear();
  });
});
