import { describe, expect, it } from 'vitest';
import { createProgressPrinter } from '../../../src/engine/progress-printer.js';
import { SkippingClock } from '../../../src/core/clock.js';

describe('progress printer', () => {
  it('prints one escaped line per event', () => {
    const lines: string[] = [];
    const print = createProgressPrinter((l) => lines.push(l), new SkippingClock('2026-03-01T10:11:12Z'));
    print({ runId: 'r', stepId: 'collect', phase: 'info', message: 'host \u001b]0;pwned\u0007 says hi\nnext' });
    expect(lines).toEqual(['10:11:12 [collect] info: host \\x1b]0;pwned\\x07 says hi\\nnext\n']);
  });
});
