import { missingCredentialsError } from './api-errors.js';
import { UsageError } from '../core/errors.js';

export type Credentials =
  | { kind: 'api-key'; apiKey: string }
  | { kind: 'oauth'; clientId: string; clientSecret: string; scopes?: string[] };

export interface ApiTarget {
  baseUrl: string;
  /** Path segment: `-` is the credential's default tailnet. */
  tailnet: string;
  credentials: Credentials;
}

export const defaultBaseUrl = 'https://api.tailscale.com';

/**
 * Read credentials and target from the environment. API key wins when both kinds are set
 * (explicit and simplest); an OAuth id without its secret (or the reverse) is an error rather
 * than a silent fall-through.
 */
export function apiTargetFromEnv(env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const baseUrl = (env.TAILSCALE_BASE_URL || defaultBaseUrl).replace(/\/+$/, '');
  try {
    new URL(baseUrl);
  } catch {
    throw new UsageError(`TAILSCALE_BASE_URL is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  const tailnet = env.TAILSCALE_TAILNET || '-';
  const apiKey = env.TAILSCALE_API_KEY;
  const clientId = env.TAILSCALE_OAUTH_CLIENT_ID;
  const clientSecret = env.TAILSCALE_OAUTH_CLIENT_SECRET;
  if (apiKey) return { baseUrl, tailnet, credentials: { kind: 'api-key', apiKey } };
  if (clientId && clientSecret) {
    const scopes = env.TAILSCALE_OAUTH_SCOPES?.split(/[\s,]+/).filter(Boolean);
    return { baseUrl, tailnet, credentials: { kind: 'oauth', clientId, clientSecret, ...(scopes?.length ? { scopes } : {}) } };
  }
  if (clientId || clientSecret)
    throw new UsageError(
      `incomplete OAuth client: ${clientId ? 'TAILSCALE_OAUTH_CLIENT_SECRET' : 'TAILSCALE_OAUTH_CLIENT_ID'} is not set`,
      { hint: 'Set both TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET, or TAILSCALE_API_KEY.' },
    );
  throw missingCredentialsError();
}
