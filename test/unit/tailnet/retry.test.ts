import { describe, expect, it } from 'vitest';
import { backoffDelay, RetriesExhausted, withRetry, type RetryEnvironment } from '../../../src/tailnet/retry.js';

function fakeEnv(random = 1): RetryEnvironment & { sleeps: number[]; clock: number } {
  const env = {
    sleeps: [] as number[],
    clock: 0,
    sleep: async (ms: number) => {
      env.sleeps.push(ms);
      env.clock += ms;
    },
    random: () => random,
    now: () => env.clock,
  };
  return env;
}

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, scaled by jitter', () => {
    const p = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(p, n, 0.999999))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay(p, 3, 0)).toBe(0);
  });
});

describe('withRetry', () => {
  const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 };

  it('returns the first success and counts attempts', async () => {
    const env = fakeEnv();
    let n = 0;
    const r = await withRetry(async () => (++n < 3 ? { retry: true, error: new Error('x') } : { retry: false, value: 'ok' }), policy, env);
    expect(r).toEqual({ value: 'ok', attempts: 3 });
    expect(env.sleeps).toEqual([100, 200]);
  });

  it('stops after maxAttempts with the last error', async () => {
    const env = fakeEnv();
    const err = await withRetry(async (n) => ({ retry: true, error: new Error(`e${n}`) }), policy, env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhausted);
    expect((err as RetriesExhausted).attempts).toBe(4);
    expect(((err as RetriesExhausted).lastError as Error).message).toBe('e4');
  });

  it('stops when the time budget would be exceeded', async () => {
    const env = fakeEnv();
    const err = await withRetry(async () => ({ retry: true, error: new Error('x') }), { ...policy, maxAttempts: 100, maxElapsedMs: 350 }, env).catch(
      (e: unknown) => e,
    );
    expect((err as RetriesExhausted).attempts).toBe(3);
    expect(env.clock).toBeLessThanOrEqual(350);
  });

  it('honours Retry-After up to the maximum delay', async () => {
    const env = fakeEnv(0);
    let n = 0;
    await withRetry(async () => (++n < 2 ? { retry: true, error: new Error('x'), retryAfterMs: 5000 } : { retry: false, value: 1 }), policy, env);
    expect(env.sleeps).toEqual([1000]);
  });
});
