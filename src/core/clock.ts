/**
 * Time, injected. The engine never reads the wall clock directly, so drills can run on a
 * simulated clock and tests can skip time.
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function createSystemClock(): Clock {
  return {
    now: () => new Date(),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}

/**
 * A clock that only moves when slept on: every `sleep` advances time instantly. Used by tests
 * and drills so polling loops run in microseconds while still seeing time pass.
 */
export class SkippingClock implements Clock {
  private current: number;
  constructor(start: Date | string = '2026-01-01T00:00:00Z') {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current += ms;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.current += ms;
    await Promise.resolve();
  }
}

/**
 * The drill's simulated clock: wall time plus every wait skipped so far. Work takes the time it
 * takes, but a `sleep` (a poll interval, a retry backoff) returns at once and moves the clock
 * forward, so a drill that waits "15 minutes" for a rebuilt host finishes in seconds while its
 * journal, report and simulated tailnet all agree on the time.
 */
export class DrillClock implements Clock {
  private skippedMs = 0;
  constructor(private readonly wall: () => number = Date.now) {}
  now(): Date {
    return new Date(this.wall() + this.skippedMs);
  }
  /** Total waiting skipped so far. */
  get skipped(): number {
    return this.skippedMs;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.skippedMs += Math.max(0, ms);
    // Yield to I/O, so a polling loop on this clock cannot starve the servers it polls.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (signal?.aborted) throw signal.reason;
  }
}

/** Parse a playbook duration (`500ms`, `30s`, `5m`, `1h`) to milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${JSON.stringify(text)} (use e.g. 500ms, 30s, 5m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] as 'ms' | 's' | 'm' | 'h';
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit];
}
