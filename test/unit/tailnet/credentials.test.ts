import { describe, expect, it } from 'vitest';
import { CredentialsError, UsageError } from '../../../src/core/errors.js';
import { apiTargetFromEnv } from '../../../src/tailnet/credentials.js';

describe('apiTargetFromEnv', () => {
  it('names every credential variable when none is set', () => {
    const err = (() => {
      try {
        apiTargetFromEnv({});
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toBe(
      'no Tailscale API credentials: set TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET',
    );
  });

  it('uses the API key with the default tailnet and base URL', () => {
    expect(apiTargetFromEnv({ TAILSCALE_API_KEY: 'k' })).toEqual({
      baseUrl: 'https://api.tailscale.com',
      tailnet: '-',
      credentials: { kind: 'api-key', apiKey: 'k' },
    });
  });

  it('uses an OAuth client and the given tailnet and base URL (trailing slash removed)', () => {
    expect(
      apiTargetFromEnv({
        TAILSCALE_OAUTH_CLIENT_ID: 'id',
        TAILSCALE_OAUTH_CLIENT_SECRET: 'secret',
        TAILSCALE_TAILNET: 'example.com',
        TAILSCALE_BASE_URL: 'http://127.0.0.1:8411/',
      }),
    ).toEqual({ baseUrl: 'http://127.0.0.1:8411', tailnet: 'example.com', credentials: { kind: 'oauth', clientId: 'id', clientSecret: 'secret' } });
  });

  it('refuses half an OAuth client instead of silently ignoring it', () => {
    expect(() => apiTargetFromEnv({ TAILSCALE_OAUTH_CLIENT_ID: 'id' })).toThrow(/TAILSCALE_OAUTH_CLIENT_SECRET is not set/);
    expect(() => apiTargetFromEnv({ TAILSCALE_OAUTH_CLIENT_SECRET: 's' })).toThrow(UsageError);
  });

  it('rejects a base URL that is not a URL', () => {
    expect(() => apiTargetFromEnv({ TAILSCALE_API_KEY: 'k', TAILSCALE_BASE_URL: 'not a url' })).toThrow(/TAILSCALE_BASE_URL is not a URL/);
  });
});
