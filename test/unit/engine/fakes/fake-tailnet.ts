import type { TailnetApi } from '../../../../src/tailnet/tailnet-api.js';
import type { ConfigurationAuditLogList, CreateKeyRequest, Device, DeviceRoutes, Key, PolicyFile, PolicyTest, PolicyValidationResult, User } from '../../../../src/tailnet/types.js';
import type { Clock } from '../../../../src/core/clock.js';
import { createHash, randomBytes } from 'node:crypto';

export interface Mutation {
  method: string;
  target: string;
}

/** Thrown for HTTP-ish failures of the fake (status like the real client's errors carry). */
export class FakeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = status === 412 ? 'PolicyConflictError' : 'ApiError';
  }
}

/**
 * In-memory tailnet implementing TailnetApi. Counts every mutation, can "die" (simulated crash:
 * every call rejects, nothing changes), and can inject one-shot failures per method.
 */
export class FakeTailnet implements TailnetApi {
  devices: Device[] = [];
  users: User[] = [];
  keys: Key[] = [];
  routes = new Map<string, DeviceRoutes>();
  policy: PolicyFile = { text: '{"acls":[]}', etag: etagOf('{"acls":[]}') };
  readonly mutations: Mutation[] = [];
  dead = false;
  /** Called after each mutation took effect (crash tests kill the "process" here). */
  afterMutation?: (m: Mutation) => void;
  private readonly failures = new Map<string, Error[]>();
  private nextNode = 100;

  constructor(private readonly clock: Clock) {}

  failNext(method: keyof TailnetApi, error: Error, times = 1): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...Array.from({ length: times }, () => error)]);
  }

  count(method: string, target?: string): number {
    return this.mutations.filter((m) => m.method === method && (target === undefined || m.target === target)).length;
  }

  private async gate(method: string): Promise<void> {
    await Promise.resolve();
    if (this.dead) throw new Error('simulated crash: process is gone');
    const queue = this.failures.get(method);
    const next = queue?.shift();
    if (next) throw next;
  }

  private mutate(method: string, target: string): void {
    const m = { method, target };
    this.mutations.push(m);
    // The change lands after the caller's await: queue the hook so state is updated first.
    queueMicrotask(() => this.afterMutation?.(m));
  }

  private device(id: string): Device {
    const d = this.devices.find((x) => x.nodeId === id || x.id === id);
    if (!d) throw new FakeApiError(`device ${id} not found`, 404);
    return d;
  }

  // ---- policy
  async getPolicy() {
    await this.gate('getPolicy');
    return { ...this.policy };
  }
  async setPolicy(text: string, options?: { ifMatch?: string }) {
    await this.gate('setPolicy');
    if (options?.ifMatch !== undefined && options.ifMatch !== this.policy.etag) throw new FakeApiError('precondition failed, invalid old hash', 412);
    this.mutate('setPolicy', 'policy');
    this.policy = { text, etag: etagOf(text) };
    return { ...this.policy };
  }
  async validatePolicy(_text: string): Promise<PolicyValidationResult> {
    await this.gate('validatePolicy');
    return {};
  }
  async runPolicyTests(_tests: PolicyTest[]): Promise<PolicyValidationResult> {
    await this.gate('runPolicyTests');
    return {};
  }
  async previewPolicy(): Promise<unknown> {
    await this.gate('previewPolicy');
    return { matches: [] };
  }

  // ---- devices
  async listDevices() {
    await this.gate('listDevices');
    return this.devices.map((d) => ({ ...d }));
  }
  async getDevice(id: string) {
    await this.gate('getDevice');
    return { ...this.device(id) };
  }
  async deleteDevice(id: string) {
    await this.gate('deleteDevice');
    const d = this.device(id);
    this.mutate('deleteDevice', d.nodeId);
    this.devices = this.devices.filter((x) => x !== d);
  }
  async expireDevice(id: string) {
    await this.gate('expireDevice');
    const d = this.device(id);
    this.mutate('expireDevice', d.nodeId);
    d.expires = this.clock.now().toISOString();
  }
  async setDeviceAuthorized(id: string, authorized: boolean) {
    await this.gate('setDeviceAuthorized');
    this.mutate('setDeviceAuthorized', id);
    this.device(id).authorized = authorized;
  }
  async setDeviceTags(id: string, tags: string[]) {
    await this.gate('setDeviceTags');
    this.mutate('setDeviceTags', id);
    this.device(id).tags = tags;
  }
  async getDeviceRoutes(id: string) {
    await this.gate('getDeviceRoutes');
    this.device(id);
    return structuredClone(this.routes.get(id) ?? { advertisedRoutes: [], enabledRoutes: [] });
  }
  async setDeviceRoutes(id: string, routes: string[]) {
    await this.gate('setDeviceRoutes');
    this.mutate('setDeviceRoutes', id);
    const r = this.routes.get(id) ?? { advertisedRoutes: [], enabledRoutes: [] };
    r.enabledRoutes = routes;
    this.routes.set(id, r);
    return structuredClone(r);
  }
  async getPostureAttributes() {
    await this.gate('getPostureAttributes');
    return { attributes: {} };
  }
  async setPostureAttribute(id: string) {
    await this.gate('setPostureAttribute');
    this.mutate('setPostureAttribute', id);
  }
  async deletePostureAttribute(id: string) {
    await this.gate('deletePostureAttribute');
    this.mutate('deletePostureAttribute', id);
  }

  // ---- keys
  async listKeys() {
    await this.gate('listKeys');
    return this.keys.filter((k) => !k.revoked).map(({ key: _secret, ...rest }) => rest);
  }
  async getKey(id: string) {
    await this.gate('getKey');
    const k = this.keys.find((x) => x.id === id);
    if (!k) throw new FakeApiError(`key ${id} not found`, 404);
    const { key: _secret, ...rest } = k;
    return rest;
  }
  async createKey(request: CreateKeyRequest) {
    await this.gate('createKey');
    const id = `k${randomBytes(4).toString('hex')}`;
    this.mutate('createKey', request.description ?? id);
    const key: Key = {
      id,
      key: `fake-secret-${randomBytes(6).toString('hex')}`,
      keyType: 'auth',
      description: request.description,
      created: this.clock.now().toISOString(),
      expires: new Date(this.clock.now().getTime() + (request.expirySeconds ?? 7776000) * 1000).toISOString(),
      capabilities: request.capabilities,
      userId: 'u-admin',
    };
    this.keys.push(key);
    return { ...key };
  }
  async deleteKey(id: string) {
    await this.gate('deleteKey');
    const k = this.keys.find((x) => x.id === id);
    if (!k) throw new FakeApiError(`key ${id} not found`, 404);
    this.mutate('deleteKey', id);
    k.revoked = this.clock.now().toISOString();
    k.invalid = true;
  }

  // ---- users
  async listUsers() {
    await this.gate('listUsers');
    return this.users.map((u) => ({ ...u }));
  }
  async getUser(id: string) {
    await this.gate('getUser');
    const u = this.users.find((x) => x.id === id);
    if (!u) throw new FakeApiError(`user ${id} not found`, 404);
    return { ...u };
  }
  async suspendUser(id: string) {
    await this.gate('suspendUser');
    const u = this.users.find((x) => x.id === id);
    if (!u) throw new FakeApiError(`user ${id} not found`, 404);
    this.mutate('suspendUser', id);
    u.status = 'suspended';
  }
  async restoreUser(id: string) {
    await this.gate('restoreUser');
    this.mutate('restoreUser', id);
    const u = this.users.find((x) => x.id === id);
    if (u) u.status = 'active';
  }

  // ---- logs
  async getConfigurationAuditLog(): Promise<ConfigurationAuditLogList> {
    await this.gate('getConfigurationAuditLog');
    return { version: '1.1', tailnet: 'example.com', logs: [] };
  }
  async getNetworkFlowLogs(): Promise<unknown> {
    await this.gate('getNetworkFlowLogs');
    return { logs: [] };
  }
  async getSettings() {
    await this.gate('getSettings');
    return {};
  }

  /** What tailscaled does with an auth key: a new node joins with the key's tags. */
  enrolWithKey(secret: string, hostname: string): Device {
    if (this.dead) throw new Error('simulated crash: process is gone');
    const key = this.keys.find((k) => k.key === secret);
    if (!key || key.revoked || key.invalid) throw new Error('invalid auth key');
    if (!key.capabilities?.devices?.create?.reusable) key.invalid = true;
    const n = this.nextNode++;
    const device: Device = {
      id: String(n),
      nodeId: `nNEW${n}CNTRL`,
      addresses: [`100.64.9.${n % 250}`],
      name: `${hostname}-1.tail0000.ts.net`,
      hostname,
      user: 'tagged-devices',
      tags: key.capabilities?.devices?.create?.tags ?? [],
      created: this.clock.now().toISOString(),
    };
    this.devices.push(device);
    this.mutate('enrol', hostname);
    return device;
  }
}

export function etagOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Two users, a user-owned laptop and a tagged web server with its likely key. */
export function seedTailnet(t: FakeTailnet): FakeTailnet {
  t.users = [
    { id: 'u-alice', displayName: 'Alice', loginName: 'alice@example.com', type: 'member', role: 'member', status: 'active' },
    { id: 'u-bob', displayName: 'Bob', loginName: 'bob@example.com', type: 'member', role: 'admin', status: 'active' },
    { id: 'u-admin', displayName: 'Responder', loginName: 'responder@example.com', type: 'member', role: 'admin', status: 'active' },
  ];
  t.devices = [
    { id: '1', nodeId: 'nLAPTOP1CNTRL', addresses: ['100.64.0.1', 'fd7a:115c:a1e0::1'], name: 'laptop-1.tail0000.ts.net', hostname: 'laptop-1', user: 'alice@example.com', tags: [], created: '2025-06-01T00:00:00Z' },
    { id: '2', nodeId: 'nWEB1CNTRL', addresses: ['100.64.0.2', 'fd7a:115c:a1e0::2'], name: 'web-1.tail0000.ts.net', hostname: 'web-1', user: 'bob@example.com', tags: ['tag:web'], created: '2025-07-01T12:00:00Z' },
    { id: '3', nodeId: 'nDB1CNTRL', addresses: ['100.64.0.3'], name: 'db-1.tail0000.ts.net', hostname: 'db-1', user: 'bob@example.com', tags: ['tag:db'], created: '2025-05-01T00:00:00Z' },
  ];
  t.keys = [
    { id: 'kWEB', keyType: 'auth', description: 'web-1 enrolment', created: '2025-07-01T11:00:00Z', expires: '2025-07-02T11:00:00Z', userId: 'u-bob', capabilities: { devices: { create: { reusable: false, ephemeral: false, preauthorized: true, tags: ['tag:web'] } } } },
    { id: 'kDB', keyType: 'auth', description: 'db fleet', created: '2025-04-01T00:00:00Z', expires: '2026-04-01T00:00:00Z', userId: 'u-bob', capabilities: { devices: { create: { reusable: true, ephemeral: false, preauthorized: true, tags: ['tag:db'] } } } },
  ];
  t.routes.set('nWEB1CNTRL', { advertisedRoutes: ['10.0.0.0/24', '0.0.0.0/0', '::/0'], enabledRoutes: ['10.0.0.0/24', '0.0.0.0/0', '::/0'] });
  t.policy = { text: '{"acls":[{"action":"accept","src":["*"],"dst":["*:*"]}]}', etag: etagOf('{"acls":[{"action":"accept","src":["*"],"dst":["*:*"]}]}') };
  return t;
}
