import { randomBytes, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { FaultInjector } from './fault-injector.js';
import { faultSchema, type Scenario } from './scenario.js';
import { SimHttpError, SimTailnet, type SimActor, type SimPolicyChecker } from './sim-tailnet.js';

export interface SimServerOptions {
  scenario: Scenario;
  checker: SimPolicyChecker;
  /** Loopback only: the simulator is a drill tool, never a network service. */
  host?: string;
  port?: number;
  now?: () => Date;
  /** Fixed token (else scenario.api.token, else random). */
  token?: string;
}

export interface RunningSim {
  url: string;
  token: string;
  tailnet: SimTailnet;
  faults: FaultInjector;
  close(): Promise<void>;
}

interface AuthedRequest extends FastifyRequest {
  actor?: SimActor;
}

const oauthTokenLifetimeSeconds = 3600;

/** Build the simulated tailnet's HTTP API (not listening yet). */
export function buildSimServer(options: SimServerOptions & { token: string }): { app: FastifyInstance; tailnet: SimTailnet; faults: FaultInjector } {
  const { scenario, token } = options;
  const now = options.now ?? (() => new Date());
  const tailnet = new SimTailnet(scenario, { now, checker: options.checker });
  const faults = new FaultInjector(scenario.faults);
  const actorUser = (scenario.api.actor ? tailnet.userByLogin(scenario.api.actor) : undefined) ?? tailnet.listUsers('all', 'all').find((u) => u.role === 'admin' || u.role === 'owner') ?? tailnet.listUsers('all')[0]!;
  const tokenActor: SimActor = { id: actorUser.id, type: 'USER', loginName: actorUser.loginName, displayName: actorUser.displayName };
  const oauthTokens = new Map<string, { clientId: string; expiresAt: number }>();

  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024, forceCloseConnections: true });
  // Keep every body as raw text: HuJSON must reach the policy engine byte for byte.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof SimHttpError) return reply.code(err.status).send(err.body);
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    return reply.code(status).send({ message: status === 500 ? `internal error: ${err.message}` : err.message });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ message: 'not found' }));

  app.addHook('onRequest', async (req: AuthedRequest, reply) => {
    const path = req.url.split('?')[0]!;
    if (path === '/api/v2/oauth/token') return;
    const actor = authenticate(req.headers.authorization);
    if (!actor) return reply.code(401).send({ message: 'API token invalid' });
    req.actor = actor;
    const decision = faults.decide(req.method, path);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    if (decision.action === 'fail') return reply.code(decision.status).send({ message: decision.message });
  });

  function authenticate(header: string | undefined): SimActor | undefined {
    if (!header) return undefined;
    let presented: string | undefined;
    if (header.startsWith('Bearer ')) presented = header.slice(7).trim();
    else if (header.startsWith('Basic ')) presented = Buffer.from(header.slice(6), 'base64').toString('utf8').replace(/:$/, '');
    if (!presented) return undefined;
    if (safeEqual(presented, token)) return tokenActor;
    const oauth = oauthTokens.get(presented);
    if (oauth && oauth.expiresAt > now().getTime()) return { id: oauth.clientId, type: 'OAUTH_CLIENT', loginName: `oauth:${oauth.clientId}` };
    return undefined;
  }

  const tailnetRoute = (req: FastifyRequest): void => {
    const t = (req.params as { tailnet: string }).tailnet;
    if (t !== '-' && t !== tailnet.tailnetName) throw new SimHttpError(404, { message: 'tailnet not found' });
  };
  const actorOf = (req: AuthedRequest): SimActor => req.actor!;
  const idOf = (req: FastifyRequest): string => (req.params as { id: string }).id;

  // ---- OAuth -------------------------------------------------------------------------------
  app.post('/api/v2/oauth/token', async (req, reply) => {
    const form = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
    const client = scenario.api.oauthClients.find((c) => c.id === form.get('client_id'));
    if (form.get('grant_type') !== 'client_credentials') return reply.code(400).send({ error: 'unsupported_grant_type' });
    if (!client || !safeEqual(form.get('client_secret') ?? '', client.secret))
      return reply.code(401).send({ error: 'invalid_client', error_description: 'invalid client id or secret' });
    const access = `sim-oauth-${randomBytes(24).toString('hex')}`;
    oauthTokens.set(access, { clientId: client.id, expiresAt: now().getTime() + oauthTokenLifetimeSeconds * 1000 });
    return { access_token: access, token_type: 'Bearer', expires_in: oauthTokenLifetimeSeconds, scope: client.scopes.join(' ') };
  });

  // ---- policy file -------------------------------------------------------------------------
  app.get('/api/v2/tailnet/:tailnet/acl', async (req, reply) => {
    tailnetRoute(req);
    faults.notePolicyRead();
    const { text, etag } = tailnet.policy();
    reply.header('etag', `"${etag}"`);
    if ((req.query as { details?: string }).details === 'true')
      return { acl: Buffer.from(text).toString('base64'), warnings: [], errors: null };
    return sendPolicy(req, reply, text);
  });

  app.post('/api/v2/tailnet/:tailnet/acl', async (req: AuthedRequest, reply) => {
    tailnetRoute(req);
    if (faults.takePolicyRace()) tailnet.concurrentPolicyEdit();
    const text = bodyText(req);
    const ifMatch = req.headers['if-match'];
    const saved = tailnet.setPolicy(text, typeof ifMatch === 'string' ? ifMatch : undefined, actorOf(req));
    reply.header('etag', `"${saved.etag}"`);
    return sendPolicy(req, reply, saved.text);
  });

  app.post('/api/v2/tailnet/:tailnet/acl/validate', async (req) => {
    tailnetRoute(req);
    const text = bodyText(req);
    if (text.trimStart().startsWith('[')) return tailnet.runTests(parseJsonBody(text));
    return tailnet.validatePolicy(text);
  });

  app.post('/api/v2/tailnet/:tailnet/acl/preview', async (req) => {
    tailnetRoute(req);
    const q = req.query as { type?: string; previewFor?: string };
    if (q.type !== 'user' && q.type !== 'ipport') throw new SimHttpError(400, { message: 'type must be "user" or "ipport"' });
    if (!q.previewFor) throw new SimHttpError(400, { message: 'previewFor is required' });
    return tailnet.previewPolicy(bodyText(req), q.type, q.previewFor);
  });

  // ---- devices -----------------------------------------------------------------------------
  app.get('/api/v2/tailnet/:tailnet/devices', async (req) => {
    tailnetRoute(req);
    const q = req.query as Record<string, string | string[] | undefined>;
    let devices = tailnet.listDevices(q.fields === 'all');
    // Field filters: exact match on top-level fields, repeated params AND-ed.
    for (const [field, raw] of Object.entries(q)) {
      if (field === 'fields' || raw === undefined) continue;
      const wanted = Array.isArray(raw) ? raw : [raw];
      devices = devices.filter((d) => {
        const v = (d as unknown as Record<string, unknown>)[field];
        return wanted.every((w) => (Array.isArray(v) ? v.map(String).includes(w) : String(v) === w));
      });
    }
    return { devices };
  });
  app.get('/api/v2/device/:id', async (req) => tailnet.getDevice(idOf(req), (req.query as { fields?: string }).fields === 'all'));
  app.delete('/api/v2/device/:id', async (req: AuthedRequest, reply) => {
    tailnet.deleteDevice(idOf(req), actorOf(req));
    return reply.code(200).send();
  });
  app.post('/api/v2/device/:id/expire', async (req: AuthedRequest) => {
    tailnet.expireDevice(idOf(req), actorOf(req));
    return {};
  });
  app.post('/api/v2/device/:id/authorized', async (req: AuthedRequest) => {
    tailnet.setAuthorized(idOf(req), (jsonBody(req) as { authorized?: unknown }).authorized, actorOf(req));
    return {};
  });
  app.post('/api/v2/device/:id/tags', async (req: AuthedRequest) => {
    tailnet.setTags(idOf(req), (jsonBody(req) as { tags?: unknown }).tags, actorOf(req));
    return {};
  });
  app.post('/api/v2/device/:id/key', async (req: AuthedRequest) => {
    tailnet.setKeyExpiryDisabled(idOf(req), (jsonBody(req) as { keyExpiryDisabled?: unknown }).keyExpiryDisabled, actorOf(req));
    return {};
  });
  app.get('/api/v2/device/:id/routes', async (req) => tailnet.getRoutes(idOf(req)));
  app.post('/api/v2/device/:id/routes', async (req: AuthedRequest) => tailnet.setRoutes(idOf(req), (jsonBody(req) as { routes?: unknown }).routes, actorOf(req)));
  app.get('/api/v2/device/:id/attributes', async (req) => tailnet.getAttributes(idOf(req)));
  app.post('/api/v2/device/:id/attributes/:key', async (req: AuthedRequest) => {
    const { key } = req.params as { key: string };
    tailnet.setAttribute(idOf(req), key, jsonBody(req), actorOf(req));
    return tailnet.getAttributes(idOf(req));
  });
  app.delete('/api/v2/device/:id/attributes/:key', async (req: AuthedRequest) => {
    tailnet.deleteAttribute(idOf(req), (req.params as { key: string }).key, actorOf(req));
    return {};
  });

  // ---- keys --------------------------------------------------------------------------------
  app.get('/api/v2/tailnet/:tailnet/keys', async (req) => {
    tailnetRoute(req);
    return { keys: tailnet.listKeys() };
  });
  app.post('/api/v2/tailnet/:tailnet/keys', async (req: AuthedRequest) => {
    tailnetRoute(req);
    return tailnet.createKey(jsonBody(req), actorOf(req));
  });
  app.get('/api/v2/tailnet/:tailnet/keys/:keyId', async (req) => {
    tailnetRoute(req);
    return tailnet.getKey((req.params as { keyId: string }).keyId);
  });
  app.delete('/api/v2/tailnet/:tailnet/keys/:keyId', async (req: AuthedRequest, reply) => {
    tailnetRoute(req);
    tailnet.deleteKey((req.params as { keyId: string }).keyId, actorOf(req));
    return reply.code(200).send();
  });

  // ---- users -------------------------------------------------------------------------------
  app.get('/api/v2/tailnet/:tailnet/users', async (req) => {
    tailnetRoute(req);
    const q = req.query as { type?: string; role?: string };
    return { users: tailnet.listUsers(q.type ?? 'member', q.role ?? 'all') };
  });
  app.get('/api/v2/users/:id', async (req) => tailnet.getUser(idOf(req)));
  app.post('/api/v2/users/:id/suspend', async (req: AuthedRequest) => {
    tailnet.setUserStatus(idOf(req), 'suspend', actorOf(req));
    return {};
  });
  app.post('/api/v2/users/:id/restore', async (req: AuthedRequest) => {
    tailnet.setUserStatus(idOf(req), 'restore', actorOf(req));
    return {};
  });

  // ---- logging and settings ----------------------------------------------------------------
  app.get('/api/v2/tailnet/:tailnet/logging/configuration', async (req) => {
    tailnetRoute(req);
    const q = req.query as Record<string, string | string[] | undefined>;
    const list = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
    const logs = tailnet.auditLog({
      ...(typeof q.start === 'string' ? { start: q.start } : {}),
      ...(typeof q.end === 'string' ? { end: q.end } : {}),
      ...(q.actor ? { actor: list(q.actor)! } : {}),
      ...(q.target ? { target: list(q.target)! } : {}),
      ...(q.event ? { event: list(q.event)! } : {}),
    });
    return { version: '1.1', tailnet: tailnet.tailnetName, logs };
  });
  app.get('/api/v2/tailnet/:tailnet/logging/network', async (req) => {
    tailnetRoute(req);
    const q = req.query as { start?: string; end?: string };
    if (!q.start || !q.end) throw new SimHttpError(400, { message: 'start and end are required' });
    if (!tailnet.getSettings().networkFlowLoggingOn) throw new SimHttpError(403, { message: 'network flow logging is not enabled for this tailnet' });
    return { logs: [] };
  });
  app.get('/api/v2/tailnet/:tailnet/settings', async (req) => {
    tailnetRoute(req);
    return tailnet.getSettings();
  });

  // ---- drill control (not part of Tailscale's API) -----------------------------------------
  app.post('/sim/v0/enroll', async (req) => tailnet.enroll(jsonBody(req)));
  app.get('/sim/v0/faults', async () => ({ faults: faults.list() }));
  app.post('/sim/v0/faults', async (req) => {
    const parsed = faultSchema.safeParse(jsonBody(req));
    if (!parsed.success) throw new SimHttpError(400, { message: parsed.error.issues[0]?.message ?? 'invalid fault' });
    faults.add(parsed.data);
    return { faults: faults.list() };
  });
  app.delete('/sim/v0/faults', async () => {
    faults.clear();
    return { faults: [] };
  });
  app.get('/sim/v0/devices/:id/ssh', async (req) => tailnet.deviceSshEndpoint(idOf(req)) ?? {});

  return { app, tailnet, faults };
}

/** Start the simulated tailnet on loopback. */
export async function startSimServer(options: SimServerOptions): Promise<RunningSim> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`the simulated tailnet listens on loopback only, not ${host}`);
  const token = options.token ?? options.scenario.api.token ?? `sim-${randomBytes(24).toString('hex')}`;
  const { app, tailnet, faults } = buildSimServer({ ...options, token });
  await app.listen({ host, port: options.port ?? 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('simulator did not bind a TCP port');
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return { url: `http://${urlHost}:${addr.port}`, token, tailnet, faults, close: () => app.close() };
}

function sendPolicy(req: FastifyRequest, reply: FastifyReply, text: string): unknown {
  if ((req.headers.accept ?? '').includes('application/json')) {
    reply.type('application/json');
    return JSON.stringify(parseJsonc(text, [], { allowTrailingComma: true }), null, 2);
  }
  reply.type('application/hujson');
  return text;
}

function bodyText(req: FastifyRequest): string {
  if (typeof req.body !== 'string' || !req.body.trim()) throw new SimHttpError(400, { message: 'request body is empty' });
  return req.body;
}

function jsonBody(req: FastifyRequest): unknown {
  if (typeof req.body !== 'string' || !req.body.trim()) return {};
  return parseJsonBody(req.body);
}

function parseJsonBody(text: string): unknown {
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length) {
    const e = errors[0]!;
    throw new SimHttpError(400, { message: `invalid JSON body at offset ${e.offset}: ${printParseErrorCode(e.error)}` });
  }
  return value;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
