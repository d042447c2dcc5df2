import { afterEach, describe, expect, it, vi } from 'vitest';
import { missingRequirements, requireSystem } from './support/requirements.js';

// The gate itself: a missing requirement skips visibly, or fails under TAILNET_IR_REQUIRE_SYSTEM=1.
describe('system-test requirement gate', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('names what is missing and skips with a visible message', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    vi.stubEnv('TAILNET_IR_REQUIRE_SYSTEM', '');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(missingRequirements(['root'])).toEqual(['root (run as uid 0)']);
    expect(requireSystem(['root'], 'demo suite')).toBe(false);
    expect(String(write.mock.calls[0]?.[0])).toContain('[system tests SKIPPED] demo suite: missing root');
  });

  it('throws instead of skipping when TAILNET_IR_REQUIRE_SYSTEM=1', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    vi.stubEnv('TAILNET_IR_REQUIRE_SYSTEM', '1');
    expect(() => requireSystem(['root'], 'demo suite')).toThrow(/missing root .*failure, not a skip/);
  });

  it('runs when everything is present', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(0);
    expect(requireSystem(['root'])).toBe(true);
  });
});
