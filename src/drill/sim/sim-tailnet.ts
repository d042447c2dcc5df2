import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import type {
  ConfigurationAuditLog,
  CreateKeyRequest,
  Device,
  Key,
  PolicyTest,
  PolicyTestFailure,
  PolicyValidationResult,
  TailnetSettings,
  User,
} from '../../tailnet/types.js';
import type { Scenario } from './scenario.js';

/** What the simulator needs from the policy engine: Tailscale's own checks on a policy write. */
export interface SimPolicyChecker {
  /**
   * Throws an Error whose message is the control server's 400 text for an invalid policy;
   * otherwise returns the failures of the policy's own tests (and `extraTests`).
   */
  check(
    text: string,
    inventory: { devices: Device[]; users: User[] },
    options?: { extraTests?: PolicyTest[]; includeOwnTests?: boolean },
  ): { failures: PolicyTestFailure[] };
  /** Rules that apply to a user (`type=user`) or that let traffic reach `IP:port` (`ipport`). */
  preview?(text: string, inventory: { devices: Device[]; users: User[] }, type: 'user' | 'ipport', previewFor: string): SimPreviewMatch[];
}

/** One entry of `/acl/preview`'s `matches`. */
export interface SimPreviewMatch {
  users: string[];
  ports: string[];
  lineNumber: number;
}

/** An API answer other than 2xx, with the body Tailscale would send. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { message: string; data?: unknown },
  ) {
    super(body.message);
  }
}

export interface SimActor {
  id: string;
  type: 'USER' | 'OAUTH_CLIENT' | 'NODE';
  loginName?: string;
  displayName?: string;
}

interface SimKey extends Key {
  /** SHA-256 of the secret: the simulator, like the real server, cannot show it again. */
  secretHash?: string;
  userLogin?: string;
}

interface SimDevice extends Device {
  ssh?: { host: string; port: number };
}

export interface SimTailnetOptions {
  now?: () => Date;
  checker: SimPolicyChecker;
}

// Tailscale's auto-created default policy: allow all, as new tailnets get.
export const defaultPolicyText = `// Example/default ACLs for unrestricted connections.
{
\t// Define access control lists for users, groups, autogroups, tags,
\t// Tailscale IP addresses, and subnet ranges.
\t"acls": [
\t\t// Allow all connections.
\t\t{"action": "accept", "src": ["*"], "dst": ["*:*"]},
\t],
\t"ssh": [
\t\t{"action": "check", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["autogroup:nonroot", "root"]},
\t],
}
`;

/**
 * The simulated tailnet's state and behaviour, independent of HTTP. Every mutation appends a
 * configuration-audit-log entry, so drills and tests can count exactly what a run changed.
 */
export class SimTailnet {
  readonly tailnetName: string;
  private readonly dnsSuffix: string;
  private readonly users = new Map<string, User>();
  private readonly devices = new Map<string, SimDevice>();
  private readonly keys = new Map<string, SimKey>();
  private policyText: string;
  private policyIsDefault: boolean;
  private readonly settings: TailnetSettings;
  private readonly audit: ConfigurationAuditLog[] = [];
  private readonly now: () => Date;
  private readonly checker: SimPolicyChecker;
  private nextDeviceNumber = 1;
  private readonly listeners: Array<(entry: ConfigurationAuditLog) => void> = [];

  constructor(scenario: Scenario, options: SimTailnetOptions) {
    this.now = options.now ?? (() => new Date());
    this.checker = options.checker;
    this.tailnetName = scenario.tailnet;
    this.dnsSuffix = scenario.dnsSuffix;
    scenario.users.forEach((u, i) => {
      const id = u.id ?? `u${String(100001 + i)}`;
      this.users.set(id, {
        id,
        loginName: u.loginName,
        displayName: u.displayName ?? u.loginName.split('@')[0]!,
        role: u.role,
        status: u.status,
        type: u.type,
        created: u.created ?? '2025-01-01T00:00:00Z',
        tailnetId: scenario.tailnet,
      });
    });
    const used = new Set(scenario.devices.flatMap((d) => d.addresses ?? []));
    for (const d of scenario.devices) {
      const n = this.nextDeviceNumber++;
      const id = d.id ?? String(1_000_000 + n);
      const addresses = d.addresses ?? this.allocateAddresses(used);
      this.devices.set(id, {
        id,
        nodeId: d.nodeId ?? `n${n.toString(36).padStart(4, '0')}SIM${id.slice(-3)}CNTRL`,
        addresses,
        name: `${d.hostname}.${this.dnsSuffix}`,
        hostname: d.hostname,
        user: d.user,
        tags: [...d.tags],
        authorized: d.authorized,
        keyExpiryDisabled: d.keyExpiryDisabled || d.tags.length > 0,
        expires: d.tags.length > 0 ? '0001-01-01T00:00:00Z' : '2027-06-01T00:00:00Z',
        created: d.created ?? '2025-01-01T00:00:00Z',
        lastSeen: d.lastSeen ?? this.now().toISOString(),
        connectedToControl: true,
        os: d.os,
        clientVersion: d.clientVersion,
        updateAvailable: false,
        isExternal: false,
        isEphemeral: d.isEphemeral,
        machineKey: `mkey:${fakeHex(id + 'm')}`,
        nodeKey: `nodekey:${fakeHex(id + 'n')}`,
        blocksIncomingConnections: false,
        advertisedRoutes: [...d.advertisedRoutes],
        enabledRoutes: [...d.enabledRoutes],
        postureAttributes: { ...d.postureAttributes },
        ...(d.ssh ? { ssh: d.ssh } : {}),
      });
    }
    for (const k of scenario.keys) {
      const user = k.user ? this.userByLogin(k.user) : undefined;
      this.keys.set(k.id, {
        id: k.id,
        keyType: 'auth',
        description: k.description,
        created: k.created,
        ...(k.expires ? { expires: k.expires } : {}),
        ...(k.revoked ? { revoked: k.revoked, invalid: true } : {}),
        capabilities: { devices: { create: { reusable: k.reusable, ephemeral: k.ephemeral, preauthorized: k.preauthorized, tags: [...k.tags] } } },
        tags: [...k.tags],
        userId: user?.id ?? '',
        ...(k.user ? { userLogin: k.user } : {}),
      });
    }
    this.policyText = scenario.policy ?? defaultPolicyText;
    this.policyIsDefault = scenario.policy === undefined;
    this.settings = { ...scenario.settings, aclsExternallyManagedOn: false };
  }

  // ---- inventory ---------------------------------------------------------------------------

  inventory(): { devices: Device[]; users: User[] } {
    return { devices: this.listDevices(true), users: this.listUsers('all') };
  }

  listDevices(all: boolean): Device[] {
    return [...this.devices.values()].map((d) => this.publicDevice(d, all));
  }

  getDevice(id: string, all: boolean): Device {
    return this.publicDevice(this.deviceOr404(id), all);
  }

  /** Simulated host address for SSH in drills (not part of Tailscale's API). */
  deviceSshEndpoint(id: string): { host: string; port: number } | undefined {
    return this.deviceOr404(id).ssh;
  }

  deleteDevice(id: string, actor: SimActor): void {
    const d = this.deviceOr404(id);
    if (d.isExternal) throw new SimHttpError(501, { message: 'cannot delete devices outside of your tailnet' });
    this.devices.delete(d.id);
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE' }, 'DELETE', { old: d.name });
  }

  expireDevice(id: string, actor: SimActor): void {
    const d = this.deviceOr404(id);
    const old = d.expires;
    d.expires = this.now().toISOString();
    d.keyExpiryDisabled = false;
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE', property: 'KEY_EXPIRY' }, 'EXPIRED', { old, new: d.expires });
  }

  setAuthorized(id: string, authorized: unknown, actor: SimActor): void {
    if (typeof authorized !== 'boolean') throw new SimHttpError(400, { message: 'authorized must be a boolean' });
    const d = this.deviceOr404(id);
    const old = d.authorized;
    d.authorized = authorized;
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE', property: 'MACHINE_AUTHORIZED' }, authorized ? 'APPROVE' : 'UPDATE', { old, new: authorized });
  }

  setTags(id: string, tags: unknown, actor: SimActor): void {
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
      throw new SimHttpError(400, { message: 'tags must be an array of strings' });
    const d = this.deviceOr404(id);
    // A tagged device goes back to a user only by re-authenticating (Tailscale's tags docs;
    // headscale behaves the same), so an empty tag set is refused rather than silently untagging.
    if (tags.length === 0 && (d.tags ?? []).length > 0)
      throw new SimHttpError(400, { message: 'a tagged device cannot be untagged through the API; re-authenticate it to return it to a user' });
    const owners = this.tagOwners();
    const invalid = tags.filter((t) => !/^tag:[A-Za-z0-9-]+$/.test(t) || !owners.has(t));
    if (invalid.length) throw new SimHttpError(400, { message: `requested tags [${invalid.join(' ')}] are invalid or not permitted` });
    const old = d.tags ?? [];
    d.tags = [...new Set(tags as string[])];
    if (d.tags.length > 0) d.keyExpiryDisabled = true;
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE', property: 'ACL_TAGS' }, 'UPDATE', { old, new: d.tags });
  }

  setKeyExpiryDisabled(id: string, value: unknown, actor: SimActor): void {
    if (typeof value !== 'boolean') throw new SimHttpError(400, { message: 'keyExpiryDisabled must be a boolean' });
    const d = this.deviceOr404(id);
    const old = d.keyExpiryDisabled;
    d.keyExpiryDisabled = value;
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE', property: 'KEY_EXPIRY_DISABLED' }, 'UPDATE', { old, new: value });
  }

  getRoutes(id: string): { advertisedRoutes: string[]; enabledRoutes: string[] } {
    const d = this.deviceOr404(id);
    return { advertisedRoutes: [...(d.advertisedRoutes ?? [])], enabledRoutes: [...(d.enabledRoutes ?? [])] };
  }

  setRoutes(id: string, routes: unknown, actor: SimActor): { advertisedRoutes: string[]; enabledRoutes: string[] } {
    if (!Array.isArray(routes) || !routes.every((r) => typeof r === 'string' && isCidr(r)))
      throw new SimHttpError(400, { message: 'routes must be an array of CIDR prefixes' });
    const d = this.deviceOr404(id);
    const old = d.enabledRoutes ?? [];
    d.enabledRoutes = [...new Set(routes as string[])];
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE', property: 'ENABLED_ROUTES' }, 'UPDATE', { old, new: d.enabledRoutes });
    return this.getRoutes(id);
  }

  getAttributes(id: string): { attributes: Record<string, string | number | boolean>; expiries: Record<string, string> } {
    const d = this.deviceOr404(id);
    return { attributes: { ...(d.postureAttributes ?? {}) }, expiries: {} };
  }

  setAttribute(id: string, key: string, body: unknown, actor: SimActor): void {
    const d = this.deviceOr404(id);
    if (!/^custom:[A-Za-z0-9_:]{1,43}$/.test(key))
      throw new SimHttpError(400, { message: `invalid posture attribute key ${JSON.stringify(key)}: must start with "custom:" and use [A-Za-z0-9_:]` });
    const value = (body as { value?: unknown } | null)?.value;
    if (!(typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'))
      throw new SimHttpError(400, { message: 'value must be a string, number or boolean' });
    if (typeof value === 'string' && !/^[A-Za-z0-9_.]{0,50}$/.test(value))
      throw new SimHttpError(400, { message: 'string values are at most 50 characters of [A-Za-z0-9_.]' });
    const attrs = (d.postureAttributes ??= {});
    const old = attrs[key];
    attrs[key] = value;
    const comment = (body as { comment?: unknown }).comment;
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE', property: 'ATTRIBUTES' }, 'UPDATE', {
      old,
      new: value,
      ...(typeof comment === 'string' ? { actionDetails: comment } : {}),
    });
  }

  deleteAttribute(id: string, key: string, actor: SimActor): void {
    const d = this.deviceOr404(id);
    if (!key.startsWith('custom:')) throw new SimHttpError(400, { message: 'only custom: attributes can be deleted' });
    const old = d.postureAttributes?.[key];
    if (d.postureAttributes) delete d.postureAttributes[key];
    this.record(actor, { id: d.nodeId, name: d.name, type: 'NODE', property: 'ATTRIBUTES' }, 'DELETE', { old });
  }

  // ---- keys --------------------------------------------------------------------------------

  listKeys(): Key[] {
    return [...this.keys.values()].filter((k) => this.keyActive(k)).map((k) => this.publicKey(k));
  }

  /** Every key, revoked and expired ones too (drill bookkeeping; not an API view). */
  listKeysAll(): Key[] {
    return [...this.keys.values()].map((k) => this.publicKey(k));
  }

  getKey(id: string): Key {
    const k = this.keys.get(id);
    if (!k) throw new SimHttpError(404, { message: 'key not found' });
    return this.publicKey(k);
  }

  createKey(body: unknown, actor: SimActor): Key {
    const req = body as Partial<CreateKeyRequest> | null;
    if (!req || typeof req !== 'object' || !req.capabilities || typeof req.capabilities !== 'object')
      throw new SimHttpError(400, { message: 'capabilities is required' });
    const create = req.capabilities.devices?.create ?? {};
    const tags = create.tags ?? [];
    const owners = this.tagOwners();
    const invalid = tags.filter((t) => !owners.has(t));
    if (invalid.length) throw new SimHttpError(400, { message: `requested tags [${invalid.join(' ')}] are invalid or not permitted` });
    if (actor.type === 'OAUTH_CLIENT' && tags.length === 0)
      throw new SimHttpError(400, { message: 'tags are required for keys created by an OAuth client' });
    if (req.description !== undefined && !/^[A-Za-z0-9 -]{0,50}$/.test(req.description))
      throw new SimHttpError(400, { message: 'description must be at most 50 alphanumeric, hyphen or space characters' });
    const expirySeconds = req.expirySeconds ?? 90 * 86_400;
    if (!Number.isInteger(expirySeconds) || expirySeconds <= 0) throw new SimHttpError(400, { message: 'expirySeconds must be a positive integer' });
    const now = this.now();
    const id = `k${randomBytes(6).toString('hex')}CNTRL`;
    const secret = ['tskey', 'auth', id, randomBytes(16).toString('hex')].join('-');
    const key: SimKey = {
      id,
      keyType: 'auth',
      description: req.description ?? '',
      created: now.toISOString(),
      expires: new Date(now.getTime() + expirySeconds * 1000).toISOString(),
      expirySeconds,
      capabilities: {
        devices: {
          create: {
            reusable: create.reusable ?? false,
            ephemeral: create.ephemeral ?? false,
            preauthorized: create.preauthorized ?? false,
            tags,
          },
        },
      },
      tags,
      userId: actor.type === 'USER' ? actor.id : '',
      ...(actor.type === 'USER' && actor.loginName ? { userLogin: actor.loginName } : {}),
      secretHash: sha256(secret),
    };
    this.keys.set(id, key);
    this.record(actor, { id, name: key.description ?? id, type: 'API_KEY' }, 'CREATE', { new: { tags, expires: key.expires } });
    return { ...this.publicKey(key), key: secret };
  }

  deleteKey(id: string, actor: SimActor): void {
    const k = this.keys.get(id);
    if (!k || k.revoked) throw new SimHttpError(404, { message: 'key not found' });
    k.revoked = this.now().toISOString();
    k.invalid = true;
    this.record(actor, { id, name: k.description ?? id, type: 'API_KEY' }, 'REVOKE', {});
  }

  // ---- users -------------------------------------------------------------------------------

  listUsers(type: string = 'member', role: string = 'all'): User[] {
    return [...this.users.values()]
      .filter((u) => type === 'all' || u.type === type)
      .filter((u) => role === 'all' || u.role === role)
      .map((u) => this.publicUser(u));
  }

  getUser(id: string): User {
    return this.publicUser(this.userOr404(id));
  }

  setUserStatus(id: string, action: 'suspend' | 'restore', actor: SimActor): void {
    const u = this.userOr404(id);
    if (actor.type === 'USER' && actor.id === u.id) throw new SimHttpError(403, { message: 'cannot suspend or restore yourself' });
    const old = u.status;
    u.status = action === 'suspend' ? 'suspended' : 'active';
    this.record(actor, { id: u.id, name: u.loginName, type: 'USER' }, action === 'suspend' ? 'SUSPEND' : 'RESTORE', { old, new: u.status });
  }

  // ---- policy ------------------------------------------------------------------------------

  policy(): { text: string; etag: string } {
    return { text: this.policyText, etag: sha256(this.policyText) };
  }

  /**
   * `POST /acl`: If-Match first (412, nothing saved), then parse and validate (400), then the
   * policy's own tests (400 "test(s) failed", nothing saved).
   */
  setPolicy(text: string, ifMatch: string | undefined, actor: SimActor, origin = 'CONFIG_API'): { text: string; etag: string } {
    if (ifMatch !== undefined) {
      const wanted = ifMatch.replace(/^W\//, '').replace(/^"|"$/g, '');
      const ok = wanted === 'ts-default' ? this.policyIsDefault : wanted === sha256(this.policyText);
      if (!ok) throw new SimHttpError(412, { message: 'precondition failed, invalid old hash' });
    }
    const failures = this.runChecks(text);
    if (failures.length) throw new SimHttpError(400, { message: 'test(s) failed', data: failures });
    const oldEtag = sha256(this.policyText);
    this.policyText = text;
    this.policyIsDefault = false;
    const etag = sha256(text);
    this.record(actor, { id: this.tailnetName, name: this.tailnetName, type: 'TAILNET', property: 'ACL' }, 'UPDATE', { old: oldEtag, new: etag }, origin);
    return { text, etag };
  }

  /** `/acl/validate` with a policy body: 200 with `message`/`data` on failure, never saves. */
  validatePolicy(text: string): PolicyValidationResult {
    try {
      const failures = this.runChecks(text);
      return failures.length ? { message: 'test(s) failed', data: failures } : {};
    } catch (err) {
      if (err instanceof SimHttpError) return { message: err.body.message };
      throw err;
    }
  }

  /** `/acl/validate` with a tests array: run them against the saved policy. */
  runTests(tests: unknown): PolicyValidationResult {
    if (!Array.isArray(tests)) throw new SimHttpError(400, { message: 'expected a JSON array of tests' });
    try {
      const { failures } = this.checker.check(this.policyText, this.inventory(), { extraTests: tests as PolicyTest[], includeOwnTests: false });
      return failures.length ? { message: 'test(s) failed', data: failures } : {};
    } catch (err) {
      return { message: err instanceof Error ? err.message : String(err) };
    }
  }

  /** `/acl/preview`: rule matches of a candidate policy for a user or an `IP:port`. Never saves. */
  previewPolicy(text: string, type: 'user' | 'ipport', previewFor: string): { matches: SimPreviewMatch[]; type: string; previewFor: string } {
    try {
      // Parse and validate only: preview answers for a candidate whose tests may not pass yet.
      this.checker.check(text, this.inventory(), { includeOwnTests: false });
    } catch (err) {
      throw new SimHttpError(400, { message: err instanceof Error ? err.message : String(err) });
    }
    if (!this.checker.preview) throw new SimHttpError(501, { message: 'preview is not available in this simulator' });
    if (type === 'user' && !this.userByLogin(previewFor)) throw new SimHttpError(400, { message: `user ${JSON.stringify(previewFor)} not found` });
    if (type === 'ipport' && !/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d{1,5}$/.test(previewFor))
      throw new SimHttpError(400, { message: `previewFor must be IP:port, got ${JSON.stringify(previewFor)}` });
    try {
      return { matches: this.checker.preview(text, this.inventory(), type, previewFor), type, previewFor };
    } catch (err) {
      throw new SimHttpError(400, { message: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Another admin edits the policy in the console (drill fault): a comment line is added. */
  concurrentPolicyEdit(): void {
    const stamp = this.now().toISOString();
    const edited = `${this.policyText.replace(/\n?$/, '\n')}// edited in the admin console at ${stamp}\n`;
    this.setPolicy(edited, undefined, { id: 'u-console', type: 'USER', loginName: 'someone-else@console', displayName: 'Concurrent editor' }, 'ADMIN_CONSOLE');
  }

  // ---- enrolment (drill control, not part of the Tailscale API) ----------------------------

  /** A rebuilt host runs `tailscale up --auth-key=…`: consume the key and create the device. */
  enroll(body: unknown): Device {
    const req = body as { authKey?: unknown; hostname?: unknown; os?: unknown } | null;
    if (typeof req?.authKey !== 'string' || typeof req.hostname !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(req.hostname))
      throw new SimHttpError(400, { message: 'enroll needs authKey and a valid hostname' });
    const hash = sha256(req.authKey);
    const key = [...this.keys.values()].find((k) => k.secretHash === hash);
    if (!key || !this.keyActive(key)) throw new SimHttpError(401, { message: 'invalid or expired auth key' });
    const create = key.capabilities?.devices?.create ?? {};
    const used = new Set([...this.devices.values()].flatMap((d) => d.addresses));
    const n = this.nextDeviceNumber++;
    const id = String(1_000_000 + n);
    // A hostname that is taken gets a numeric suffix, as MagicDNS does.
    let hostname = req.hostname;
    for (let i = 1; [...this.devices.values()].some((d) => d.hostname === hostname); i++) hostname = `${req.hostname}-${i}`;
    const device: SimDevice = {
      id,
      nodeId: `n${randomBytes(5).toString('hex')}CNTRL`,
      addresses: this.allocateAddresses(used),
      name: `${hostname}.${this.dnsSuffix}`,
      hostname,
      user: key.userLogin ?? 'tagged-devices',
      tags: [...(create.tags ?? [])],
      authorized: create.preauthorized === true || !this.settings.devicesApprovalOn,
      keyExpiryDisabled: (create.tags ?? []).length > 0,
      created: this.now().toISOString(),
      lastSeen: this.now().toISOString(),
      connectedToControl: true,
      os: typeof req.os === 'string' ? req.os : 'linux',
      clientVersion: '1.80.2',
      isEphemeral: create.ephemeral === true,
      isExternal: false,
      advertisedRoutes: [],
      enabledRoutes: [],
      postureAttributes: {},
    };
    this.devices.set(id, device);
    if (!create.reusable) {
      key.invalid = true;
    }
    this.record({ id: device.nodeId, type: 'NODE', loginName: device.name }, { id: device.nodeId, name: device.name, type: 'NODE' }, 'CREATE', { new: device.name }, 'NODE');
    return this.publicDevice(device, true);
  }

  /** Drill hook: called after every audited mutation (e.g. to "rebuild" a deleted node's host). */
  onMutation(listener: (entry: ConfigurationAuditLog) => void): void {
    this.listeners.push(listener);
  }

  // ---- audit log and settings --------------------------------------------------------------

  auditLog(query: { start?: string; end?: string; actor?: string[]; target?: string[]; event?: string[] } = {}): ConfigurationAuditLog[] {
    const start = query.start ? Date.parse(query.start) : -Infinity;
    const end = query.end ? Date.parse(query.end) : Infinity;
    if (Number.isNaN(start) || Number.isNaN(end)) throw new SimHttpError(400, { message: 'start and end must be RFC 3339 timestamps' });
    return this.audit.filter((e) => {
      const t = Date.parse(e.eventTime);
      if (t < start || t > end) return false;
      if (query.actor?.length && !query.actor.some((a) => matchesActor(e, a))) return false;
      if (query.target?.length && !query.target.some((t2) => [e.target.id, e.target.name, e.target.type, e.target.property].some((v) => v?.includes(t2))))
        return false;
      if (query.event?.length && !query.event.includes(e.action)) return false;
      return true;
    });
  }

  getSettings(): TailnetSettings {
    return { ...this.settings };
  }

  // ---- internals ---------------------------------------------------------------------------

  private runChecks(text: string): PolicyTestFailure[] {
    try {
      return this.checker.check(text, this.inventory()).failures;
    } catch (err) {
      throw new SimHttpError(400, { message: err instanceof Error ? err.message : String(err) });
    }
  }

  private tagOwners(): Set<string> {
    const errors: ParseError[] = [];
    const parsed = parseJsonc(this.policyText, errors, { allowTrailingComma: true }) as { tagOwners?: Record<string, unknown> } | undefined;
    return new Set(Object.keys(parsed?.tagOwners ?? {}));
  }

  private keyActive(k: SimKey): boolean {
    if (k.revoked || k.invalid) return false;
    return !k.expires || Date.parse(k.expires) > this.now().getTime();
  }

  private publicKey(k: SimKey): Key {
    const { secretHash: _s, userLogin: _u, ...rest } = k;
    const expired = k.expires !== undefined && Date.parse(k.expires) <= this.now().getTime();
    return { ...structuredClone(rest), ...(k.revoked || k.invalid || expired ? { invalid: true } : {}) };
  }

  private publicDevice(d: SimDevice, all: boolean): Device {
    const { ssh: _ssh, advertisedRoutes, enabledRoutes, ...rest } = d;
    return structuredClone({ ...rest, ...(all ? { advertisedRoutes, enabledRoutes } : {}) });
  }

  private publicUser(u: User): User {
    const devices = [...this.devices.values()].filter((d) => d.user === u.loginName && (d.tags ?? []).length === 0);
    return { ...u, deviceCount: devices.length, currentlyConnected: u.status !== 'suspended' && devices.length > 0, lastSeen: this.now().toISOString() };
  }

  private deviceOr404(id: string): SimDevice {
    const d = this.devices.get(id) ?? [...this.devices.values()].find((x) => x.nodeId === id);
    if (!d) throw new SimHttpError(404, { message: 'device not found' });
    return d;
  }

  private userOr404(id: string): User {
    const u = this.users.get(id);
    if (!u) throw new SimHttpError(404, { message: 'user not found' });
    return u;
  }

  userByLogin(login: string): User | undefined {
    return [...this.users.values()].find((u) => u.loginName === login);
  }

  private allocateAddresses(used: Set<string>): string[] {
    for (let i = 1; i < 60_000; i++) {
      const v4 = `100.64.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      if (used.has(v4)) continue;
      const v6 = `fd7a:115c:a1e0::${((Math.floor(i / 250) << 8) + (i % 250) + 1).toString(16)}`;
      used.add(v4);
      used.add(v6);
      return [v4, v6];
    }
    throw new Error('simulated tailnet address space exhausted');
  }

  private record(
    actor: SimActor,
    target: ConfigurationAuditLog['target'],
    action: string,
    change: { old?: unknown; new?: unknown; actionDetails?: string },
    origin = 'CONFIG_API',
  ): void {
    const entry: ConfigurationAuditLog = {
      eventTime: this.now().toISOString(),
      type: 'CONFIG',
      eventGroupID: randomUUID(),
      origin,
      actor: { ...actor },
      target,
      action,
      ...change,
    };
    this.audit.push(entry);
    for (const l of this.listeners) l(entry);
  }
}

function matchesActor(e: ConfigurationAuditLog, query: string): boolean {
  if (query.startsWith('~')) {
    const needle = query.slice(1).toLowerCase();
    return [e.actor.loginName, e.actor.displayName].some((v) => v?.toLowerCase().includes(needle));
  }
  return e.actor.id === query;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function fakeHex(seed: string): string {
  return createHash('sha256').update(`sim:${seed}`).digest('hex');
}

function isCidr(s: string): boolean {
  const m = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const bits = Number(m[2]);
  return m[1]!.includes(':') ? bits <= 128 : bits <= 32 && m[1]!.split('.').length === 4;
}
