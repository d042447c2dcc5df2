import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSim } from '../../../src/drill/sim/sim-server.js';
import { ApiPermissionError } from '../../../src/tailnet/api-errors.js';
import { TailscaleClient } from '../../../src/tailnet/tailscale-client.js';
import { instantRetries, startDefaultSim } from '../../support/sim.js';

const clientId = 'kOAUTHtestCNTRL';
const clientSecret = 'sim-oauth-secret-for-tests-only';

let sim: RunningSim;
beforeAll(async () => {
  sim = await startDefaultSim((s) => {
    s.api.oauthClients.push({ id: clientId, secret: clientSecret, scopes: ['all'] });
  });
});
afterAll(async () => sim.close());

function countingFetch() {
  const calls: string[] = [];
  const f: typeof fetch = (input, init) => {
    calls.push(new URL(String(input instanceof Request ? input.url : input)).pathname);
    return fetch(input, init);
  };
  return { f, calls };
}

describe('OAuth client credentials', () => {
  it('obtains a token once and reuses it until it expires', async () => {
    const { f, calls } = countingFetch();
    const api = new TailscaleClient({
      baseUrl: sim.url,
      tailnet: '-',
      credentials: { kind: 'oauth', clientId, clientSecret },
      fetch: f,
      retryEnvironment: instantRetries(),
    });
    await api.listDevices();
    await api.listUsers();
    await api.getPolicy();
    expect(calls.filter((p) => p === '/api/v2/oauth/token')).toHaveLength(1);
    expect(calls).toHaveLength(4);
  });

  it('records the OAuth client as the audit-log actor of its mutations', async () => {
    const api = new TailscaleClient({ baseUrl: sim.url, tailnet: '-', credentials: { kind: 'oauth', clientId, clientSecret }, retryEnvironment: instantRetries() });
    const key = await api.createKey({ capabilities: { devices: { create: { tags: ['tag:ci'] } } }, description: 'oauth minted' });
    const entry = (await api.getConfigurationAuditLog()).logs.find((l) => l.target.id === key.id)!;
    expect(entry.actor).toMatchObject({ type: 'OAUTH_CLIENT', id: clientId });
    expect(key.userId).toBe('');
  });

  it('a wrong client secret is a permission error that does not contain the secret', async () => {
    const api = new TailscaleClient({
      baseUrl: sim.url,
      tailnet: '-',
      credentials: { kind: 'oauth', clientId, clientSecret: 'definitely-the-wrong-secret' },
      retryEnvironment: instantRetries(),
    });
    const err = await api.listDevices().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiPermissionError);
    expect(JSON.stringify(err) + String(err)).not.toContain('definitely-the-wrong-secret');
  });
});
