import { describe, expect, it } from 'vitest';
import { DrillClock } from '../../../src/core/clock.js';

describe('DrillClock (simulated time for drills)', () => {
  it('adds every skipped wait to wall time without sleeping it', async () => {
    let wall = 1_000_000;
    const clock = new DrillClock(() => wall);
    await clock.sleep(15 * 60_000);
    expect(clock.now().getTime()).toBe(1_000_000 + 15 * 60_000);
    wall += 500; // real work still takes real time
    expect(clock.now().getTime()).toBe(1_000_500 + 15 * 60_000);
    expect(clock.skipped).toBe(15 * 60_000);
  });

  it('rejects with the abort reason', async () => {
    const clock = new DrillClock();
    const c = new AbortController();
    c.abort(new Error('stop'));
    await expect(clock.sleep(10, c.signal)).rejects.toThrow('stop');
    expect(clock.skipped).toBe(0);
  });
});
