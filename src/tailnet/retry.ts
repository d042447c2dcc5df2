/**
 * Bounded retry with "full jitter" exponential backoff. The caller decides what is retryable;
 * both the attempt count and the total time are capped so a dead API cannot stall a run forever.
 */
import { createSystemClock } from '../core/clock.js';

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up when the next sleep would pass this budget (measured from the first attempt). */
  maxElapsedMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 8_000, maxElapsedMs: 30_000 };

export interface RetryEnvironment {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
  now(): number;
}

export const realRetryEnvironment: RetryEnvironment = {
  sleep: createSystemClock().sleep,
  random: Math.random,
  now: Date.now,
};

export function backoffDelay(policy: RetryPolicy, attempt: number, random: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random * ceiling);
}

export interface RetryOutcome<T> {
  value: T;
  attempts: number;
}

/**
 * Run `attempt` until it returns `{ retry: false }` or the policy is exhausted. `attempt`
 * returns `{ retry: true, error }` for a retryable failure; the last such error is thrown.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<{ retry: false; value: T } | { retry: true; error: unknown; retryAfterMs?: number }>,
  policy: RetryPolicy,
  env: RetryEnvironment,
  signal?: AbortSignal,
): Promise<RetryOutcome<T>> {
  const started = env.now();
  for (let n = 1; ; n++) {
    const r = await attempt(n);
    if (!r.retry) return { value: r.value, attempts: n };
    if (n >= policy.maxAttempts) throw withAttempts(r.error, n);
    const delay = Math.min(policy.maxDelayMs, Math.max(r.retryAfterMs ?? 0, backoffDelay(policy, n, env.random())));
    if (env.now() - started + delay > policy.maxElapsedMs) throw withAttempts(r.error, n);
    await env.sleep(delay, signal);
  }
}

export class RetriesExhausted extends Error {
  constructor(readonly lastError: unknown, readonly attempts: number) {
    super('retries exhausted');
  }
}

function withAttempts(error: unknown, attempts: number): RetriesExhausted {
  return new RetriesExhausted(error, attempts);
}
