import {
  ApiError,
  ApiNotFoundError,
  ApiPermissionError,
  ApiUnavailableError,
  PolicyConflictError,
  PolicyRejectedError,
  PolicyTestsFailedError,
} from './api-errors.js';
import type { ApiTarget } from './credentials.js';
import { OAuthTokenSource } from './oauth-token-source.js';
import { defaultRetryPolicy, realRetryEnvironment, RetriesExhausted, withRetry, type RetryEnvironment, type RetryPolicy } from './retry.js';
import type { TailnetApi } from './tailnet-api.js';
import type {
  ConfigurationAuditLogList,
  CreateKeyRequest,
  Device,
  DeviceRoutes,
  Key,
  PolicyFile,
  PolicyTest,
  PolicyTestFailure,
  PolicyValidationResult,
  PostureAttributes,
  TailnetSettings,
  User,
} from './types.js';

export interface RequestLogEvent {
  method: string;
  path: string;
  status: number | 'network-error' | 'timeout';
  attempt: number;
  ms: number;
}

export interface TailscaleClientOptions extends ApiTarget {
  /** Per-request timeout. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  retryEnvironment?: RetryEnvironment;
  fetch?: typeof fetch;
  /** Called after every HTTP attempt. Receives no headers or bodies, so no secrets. */
  onRequest?: (e: RequestLogEvent) => void;
  userAgent?: string;
}

type Method = 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
type Query = Record<string, string | string[] | undefined>;

interface RequestSpec {
  method: Method;
  /** Path under `/api/v2`. */
  path: string;
  query?: Query;
  json?: unknown;
  text?: { body: string; contentType: string };
  accept?: string;
  headers?: Record<string, string>;
  /**
   * Safe to send again after a failure whose outcome is unknown: reads, and writes that set a
   * state (tags, suspend) rather than create or consume something.
   */
  idempotent: boolean;
  /** Names the thing a 404 means is missing. */
  notFound?: { resource: string; id: string };
  /** Policy writes: 400 maps to PolicyTestsFailedError / PolicyRejectedError. */
  policyWrite?: boolean;
}

interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

const retryableStatus = new Set([429, 500, 502, 503, 504]);

/** HTTP client for Tailscale API v2 (and the simulated tailnet, which speaks the same API). */
export class TailscaleClient implements TailnetApi {
  private readonly fetchImpl: typeof fetch;
  private readonly tokens: OAuthTokenSource | undefined;
  private readonly retry: RetryPolicy;
  private readonly retryEnv: RetryEnvironment;
  private readonly timeoutMs: number;
  private readonly tailnetPath: string;

  constructor(private readonly options: TailscaleClientOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.retry = options.retry ?? defaultRetryPolicy;
    this.retryEnv = options.retryEnvironment ?? realRetryEnvironment;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.tailnetPath = `/tailnet/${encodeURIComponent(options.tailnet)}`;
    const c = options.credentials;
    this.tokens =
      c.kind === 'oauth'
        ? new OAuthTokenSource({
            baseUrl: options.baseUrl,
            clientId: c.clientId,
            clientSecret: c.clientSecret,
            ...(c.scopes ? { scopes: c.scopes } : {}),
            fetch: this.fetchImpl,
            timeoutMs: this.timeoutMs,
          })
        : undefined;
  }

  // ---- policy file -------------------------------------------------------------------------

  async getPolicy(): Promise<PolicyFile> {
    // No Accept header: the server answers with the HuJSON text, comments included.
    const res = await this.request({ method: 'GET', path: `${this.tailnetPath}/acl`, idempotent: true });
    return { text: res.body, etag: unquoteEtag(res.headers.get('etag')) };
  }

  async setPolicy(text: string, options: { ifMatch?: string } = {}): Promise<PolicyFile> {
    const res = await this.request({
      method: 'POST',
      path: `${this.tailnetPath}/acl`,
      text: { body: text, contentType: 'application/hujson' },
      headers: options.ifMatch ? { 'if-match': `"${unquoteEtag(options.ifMatch)}"` } : {},
      // Not retried: after a lost response the retry would hit 412 or overwrite blindly; the
      // engine re-reads and checks instead.
      idempotent: false,
      policyWrite: true,
    });
    return { text: res.body, etag: unquoteEtag(res.headers.get('etag')) };
  }

  async validatePolicy(text: string): Promise<PolicyValidationResult> {
    const res = await this.request({
      method: 'POST',
      path: `${this.tailnetPath}/acl/validate`,
      text: { body: text, contentType: 'application/hujson' },
      idempotent: true,
    });
    return parseValidation(res.body);
  }

  async runPolicyTests(tests: PolicyTest[]): Promise<PolicyValidationResult> {
    const res = await this.request({ method: 'POST', path: `${this.tailnetPath}/acl/validate`, json: tests, idempotent: true });
    return parseValidation(res.body);
  }

  async previewPolicy(text: string, type: 'user' | 'ipport', previewFor: string): Promise<unknown> {
    const res = await this.request({
      method: 'POST',
      path: `${this.tailnetPath}/acl/preview`,
      query: { type, previewFor },
      text: { body: text, contentType: 'application/hujson' },
      idempotent: true,
    });
    return parseJson(res.body);
  }

  // ---- devices -----------------------------------------------------------------------------

  async listDevices(options: { all?: boolean } = {}): Promise<Device[]> {
    const res = await this.request({
      method: 'GET',
      path: `${this.tailnetPath}/devices`,
      query: { fields: options.all ? 'all' : undefined },
      idempotent: true,
    });
    return (parseJson(res.body) as { devices?: Device[] }).devices ?? [];
  }

  async getDevice(deviceId: string, options: { all?: boolean } = {}): Promise<Device> {
    const res = await this.request({
      method: 'GET',
      path: `/device/${enc(deviceId)}`,
      query: { fields: options.all ? 'all' : undefined },
      idempotent: true,
      notFound: { resource: 'device', id: deviceId },
    });
    return parseJson(res.body) as Device;
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.request({ method: 'DELETE', path: `/device/${enc(deviceId)}`, idempotent: false, notFound: { resource: 'device', id: deviceId } });
  }

  async expireDevice(deviceId: string): Promise<void> {
    await this.request({ method: 'POST', path: `/device/${enc(deviceId)}/expire`, idempotent: true, notFound: { resource: 'device', id: deviceId } });
  }

  async setDeviceAuthorized(deviceId: string, authorized: boolean): Promise<void> {
    await this.request({
      method: 'POST',
      path: `/device/${enc(deviceId)}/authorized`,
      json: { authorized },
      idempotent: true,
      notFound: { resource: 'device', id: deviceId },
    });
  }

  async setDeviceTags(deviceId: string, tags: string[]): Promise<void> {
    await this.request({ method: 'POST', path: `/device/${enc(deviceId)}/tags`, json: { tags }, idempotent: true, notFound: { resource: 'device', id: deviceId } });
  }

  async getDeviceRoutes(deviceId: string): Promise<DeviceRoutes> {
    const res = await this.request({ method: 'GET', path: `/device/${enc(deviceId)}/routes`, idempotent: true, notFound: { resource: 'device', id: deviceId } });
    return parseJson(res.body) as DeviceRoutes;
  }

  async setDeviceRoutes(deviceId: string, routes: string[]): Promise<DeviceRoutes> {
    const res = await this.request({
      method: 'POST',
      path: `/device/${enc(deviceId)}/routes`,
      json: { routes },
      idempotent: true,
      notFound: { resource: 'device', id: deviceId },
    });
    return parseJson(res.body) as DeviceRoutes;
  }

  async getPostureAttributes(deviceId: string): Promise<PostureAttributes> {
    const res = await this.request({ method: 'GET', path: `/device/${enc(deviceId)}/attributes`, idempotent: true, notFound: { resource: 'device', id: deviceId } });
    return parseJson(res.body) as PostureAttributes;
  }

  async setPostureAttribute(
    deviceId: string,
    key: string,
    value: string | number | boolean,
    options: { expiry?: string; comment?: string } = {},
  ): Promise<void> {
    await this.request({
      method: 'POST',
      path: `/device/${enc(deviceId)}/attributes/${enc(key)}`,
      json: { value, ...options },
      idempotent: true,
      notFound: { resource: 'device', id: deviceId },
    });
  }

  async deletePostureAttribute(deviceId: string, key: string): Promise<void> {
    await this.request({ method: 'DELETE', path: `/device/${enc(deviceId)}/attributes/${enc(key)}`, idempotent: true, notFound: { resource: 'device', id: deviceId } });
  }

  // ---- keys --------------------------------------------------------------------------------

  async listKeys(options: { all?: boolean } = {}): Promise<Key[]> {
    const res = await this.request({ method: 'GET', path: `${this.tailnetPath}/keys`, query: { all: options.all ? 'true' : undefined }, idempotent: true });
    return (parseJson(res.body) as { keys?: Key[] }).keys ?? [];
  }

  async getKey(keyId: string): Promise<Key> {
    const res = await this.request({ method: 'GET', path: `${this.tailnetPath}/keys/${enc(keyId)}`, idempotent: true, notFound: { resource: 'auth key', id: keyId } });
    return parseJson(res.body) as Key;
  }

  async createKey(request: CreateKeyRequest): Promise<Key> {
    // Not retried: a lost response would mint a second key whose secret nobody saw.
    const res = await this.request({ method: 'POST', path: `${this.tailnetPath}/keys`, json: { keyType: 'auth', ...request }, idempotent: false });
    return parseJson(res.body) as Key;
  }

  async deleteKey(keyId: string): Promise<void> {
    await this.request({ method: 'DELETE', path: `${this.tailnetPath}/keys/${enc(keyId)}`, idempotent: false, notFound: { resource: 'auth key', id: keyId } });
  }

  // ---- users -------------------------------------------------------------------------------

  async listUsers(options: { type?: 'member' | 'shared' | 'all'; role?: string } = {}): Promise<User[]> {
    const res = await this.request({ method: 'GET', path: `${this.tailnetPath}/users`, query: { type: options.type, role: options.role }, idempotent: true });
    return (parseJson(res.body) as { users?: User[] }).users ?? [];
  }

  async getUser(userId: string): Promise<User> {
    const res = await this.request({ method: 'GET', path: `/users/${enc(userId)}`, idempotent: true, notFound: { resource: 'user', id: userId } });
    return parseJson(res.body) as User;
  }

  async suspendUser(userId: string): Promise<void> {
    await this.request({ method: 'POST', path: `/users/${enc(userId)}/suspend`, idempotent: true, notFound: { resource: 'user', id: userId } });
  }

  async restoreUser(userId: string): Promise<void> {
    await this.request({ method: 'POST', path: `/users/${enc(userId)}/restore`, idempotent: true, notFound: { resource: 'user', id: userId } });
  }

  // ---- logging and settings ----------------------------------------------------------------

  async getConfigurationAuditLog(
    query: { start?: string; end?: string; actor?: string[]; target?: string[]; event?: string[] } = {},
  ): Promise<ConfigurationAuditLogList> {
    const res = await this.request({ method: 'GET', path: `${this.tailnetPath}/logging/configuration`, query, idempotent: true });
    return parseJson(res.body) as ConfigurationAuditLogList;
  }

  async getNetworkFlowLogs(query: { start: string; end: string }): Promise<unknown> {
    const res = await this.request({ method: 'GET', path: `${this.tailnetPath}/logging/network`, query, idempotent: true });
    return parseJson(res.body);
  }

  async getSettings(): Promise<TailnetSettings> {
    const res = await this.request({ method: 'GET', path: `${this.tailnetPath}/settings`, idempotent: true });
    return parseJson(res.body) as TailnetSettings;
  }

  // ---- transport ---------------------------------------------------------------------------

  private async request(spec: RequestSpec): Promise<RawResponse> {
    const path = `/api/v2${spec.path}`;
    let refreshedToken = false;
    try {
      const { value } = await withRetry<RawResponse>(
        async (attempt) => {
          const started = this.retryEnv.now();
          let res: Response;
          try {
            res = await this.send(spec, path);
          } catch (err) {
            // Errors of our own (e.g. the OAuth token endpoint refused the client) are final.
            if (err instanceof ApiError) throw err;
            const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
            this.options.onRequest?.({ method: spec.method, path, status: timedOut ? 'timeout' : 'network-error', attempt, ms: this.retryEnv.now() - started });
            const error = new ApiUnavailableError(
              {
                status: 0,
                method: spec.method,
                path,
                serverMessage: timedOut
                  ? `no answer within ${this.timeoutMs} ms`
                  : `network error: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`,
              },
              attempt,
              err,
            );
            if (spec.idempotent) return { retry: true, error };
            throw withUnknownOutcome(error);
          }
          const body = await res.text();
          this.options.onRequest?.({ method: spec.method, path, status: res.status, attempt, ms: this.retryEnv.now() - started });
          if (res.ok) return { retry: false, value: { status: res.status, headers: res.headers, body } };
          if (res.status === 401 && this.tokens && !refreshedToken) {
            // The cached OAuth token may have been revoked or expired early: fetch once more.
            refreshedToken = true;
            this.tokens.invalidate();
            return { retry: true, error: this.toError(spec, path, res.status, body), retryAfterMs: 0 };
          }
          const error = this.toError(spec, path, res.status, body);
          if (retryableStatus.has(res.status) && spec.idempotent) return { retry: true, error, retryAfterMs: retryAfterMs(res.headers) };
          throw error;
        },
        this.retry,
        this.retryEnv,
      );
      return value;
    } catch (err) {
      if (err instanceof RetriesExhausted) {
        const last = err.lastError;
        if (last instanceof ApiUnavailableError) throw new ApiUnavailableError(last, err.attempts, last.cause);
        if (last instanceof ApiError && retryableStatus.has(last.status)) throw new ApiUnavailableError(last, err.attempts, last);
        throw last;
      }
      throw err;
    }
  }

  private async send(spec: RequestSpec, path: string): Promise<Response> {
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
    }
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent ?? 'tailnet-ir',
      ...spec.headers,
      authorization: await this.authorization(),
    };
    if (spec.accept) headers.accept = spec.accept;
    let body: string | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.text) {
      headers['content-type'] = spec.text.contentType;
      body = spec.text.body;
    }
    return this.fetchImpl(url, { method: spec.method, headers, body, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error' });
  }

  private async authorization(): Promise<string> {
    const c = this.options.credentials;
    if (c.kind === 'api-key') return `Basic ${Buffer.from(`${c.apiKey}:`).toString('base64')}`;
    return `Bearer ${await this.tokens!.token()}`;
  }

  private toError(spec: RequestSpec, path: string, status: number, body: string): ApiError {
    let parsed: { message?: unknown; data?: unknown } = {};
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      /* not JSON */
    }
    const serverMessage = typeof parsed.message === 'string' ? parsed.message : body.trim().slice(0, 200) || `HTTP ${status}`;
    const init = { status, method: spec.method, path, serverMessage, data: parsed.data };
    if (status === 401 || status === 403) return new ApiPermissionError(init);
    if (status === 404 && spec.notFound) return new ApiNotFoundError(init, spec.notFound.resource, spec.notFound.id);
    if (status === 412) return new PolicyConflictError(init);
    if (status === 400 && spec.policyWrite) {
      if (serverMessage === 'test(s) failed') return new PolicyTestsFailedError(init, asFailures(parsed.data));
      return new PolicyRejectedError(init);
    }
    return new ApiError(init);
  }
}

/** A non-idempotent call whose request may or may not have reached the server. */
function withUnknownOutcome(e: ApiUnavailableError): ApiUnavailableError {
  return new ApiUnavailableError(
    { status: e.status, method: e.method, path: e.path, serverMessage: `${e.serverMessage} (the change may or may not have been applied; check the current state before retrying)` },
    1,
    e.cause,
  );
}

function retryAfterMs(headers: Headers): number | undefined {
  const v = headers.get('retry-after');
  if (!v) return undefined;
  const seconds = Number(v);
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

function asFailures(data: unknown): PolicyTestFailure[] {
  if (!Array.isArray(data)) return [];
  return data
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
    .map((d) => ({
      user: String(d.user ?? ''),
      ...(Array.isArray(d.errors) ? { errors: d.errors.map(String) } : {}),
      ...(Array.isArray(d.warnings) ? { warnings: d.warnings.map(String) } : {}),
    }));
}

function parseValidation(body: string): PolicyValidationResult {
  if (!body.trim()) return {};
  const parsed = parseJson(body) as { message?: unknown; data?: unknown } | null;
  if (!parsed || typeof parsed !== 'object') return {};
  return {
    ...(typeof parsed.message === 'string' && parsed.message ? { message: parsed.message } : {}),
    ...(parsed.data ? { data: asFailures(parsed.data) } : {}),
  };
}

function parseJson(body: string): unknown {
  if (!body.trim()) return null;
  try {
    return JSON.parse(body);
  } catch {
    // No excerpt of the body: it may be a response that carries a secret (a created key).
    throw new ApiError({ status: 200, method: '?', path: '?', serverMessage: `the API answered with a body that is not JSON (${body.length} bytes)` });
  }
}

function unquoteEtag(etag: string | null | undefined): string {
  if (!etag) return '';
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
