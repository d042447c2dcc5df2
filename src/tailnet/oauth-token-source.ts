import { ApiError, ApiPermissionError } from './api-errors.js';

export interface AccessToken {
  token: string;
  /** Epoch ms after which the token must not be used. */
  expiresAt: number;
}

export interface OAuthTokenSourceOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  scopes?: string[];
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
}

/** Refresh this long before expiry so a token never expires mid-request. */
const refreshMarginMs = 60_000;

/**
 * OAuth client-credentials grant against `POST /api/v2/oauth/token`. The access token is cached
 * until shortly before it expires; concurrent callers share one in-flight request.
 */
export class OAuthTokenSource {
  private cached: AccessToken | undefined;
  private inflight: Promise<AccessToken> | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: OAuthTokenSourceOptions) {
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  async token(signal?: AbortSignal): Promise<string> {
    if (this.cached && this.now() < this.cached.expiresAt - refreshMarginMs) return this.cached.token;
    this.inflight ??= this.fetchToken(signal).finally(() => (this.inflight = undefined));
    this.cached = await this.inflight;
    return this.cached.token;
  }

  /** Forget the cached token (after a 401, the server may have revoked it). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetchToken(signal?: AbortSignal): Promise<AccessToken> {
    const path = '/api/v2/oauth/token';
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
    });
    if (this.options.scopes?.length) form.set('scope', this.options.scopes.join(' '));
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 15_000);
    const res = await this.fetchImpl(`${this.options.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      // The body carries the client secret: never resend it to wherever a redirect points.
      redirect: 'error',
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* non-JSON error page: keep the status only */
    }
    const init = {
      status: res.status,
      method: 'POST',
      path,
      serverMessage: String(body.error_description ?? body.message ?? body.error ?? res.statusText),
    };
    if (res.status === 401 || res.status === 403 || res.status === 400) throw new ApiPermissionError({ ...init, status: res.status === 400 ? 401 : res.status });
    if (!res.ok) throw new ApiError(init);
    if (typeof body.access_token !== 'string') throw new ApiError({ ...init, serverMessage: 'token response has no access_token' });
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    return { token: body.access_token, expiresAt: this.now() + expiresIn * 1000 };
  }
}
