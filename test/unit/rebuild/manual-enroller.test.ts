import { describe, expect, it } from 'vitest';
import { createManualEnroller, type KeyHandover } from '../../../src/rebuild/manual-enroller.js';
import { EnrolmentFailedError } from '../../../src/rebuild/enrolment-failed-error.js';
import type { Device } from '../../../src/tailnet/types.js';

const laptop: Device = { id: '3', nodeId: 'nBOB', addresses: ['100.64.0.3'], name: 'bob-laptop.tail1.ts.net', hostname: 'x$(reboot)', user: 'bob@example.com' };
const secret = ['tskey', 'auth', 'kMANUAL', 'NOTAREALSECRET'].join('-');
const request = { runId: 'r', oldDevice: laptop, authKey: secret, tags: ['tag:rebuilt'], expires: '2026-11-21T13:05:00.000Z', method: 'manual' as const };

describe('manual rebuild (key shown once)', () => {
  it('shows the key once, with instructions that take it on stdin under the MagicDNS label', async () => {
    const shown: KeyHandover[] = [];
    const enroller = createManualEnroller({ reveal: async (h) => void shown.push(h) });
    const result = await enroller.enrol(request);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.secret).toBe(secret);
    expect(shown[0]!.title).toContain('2026-11-21 13:05 UTC');
    const text = shown[0]!.lines.join('\n');
    expect(text).toContain('--auth-key=file:/dev/stdin --hostname=bob-laptop --advertise-tags=tag:rebuilt');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('reboot'); // the self-reported hostname is never echoed
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it('without a terminal it refuses (the key would end up in a log) and says how to go on', async () => {
    const enroller = createManualEnroller({ reveal: undefined });
    await expect(enroller.enrol(request)).rejects.toBeInstanceOf(EnrolmentFailedError);
    expect((await enroller.describe(laptop)).warnings.join(' ')).toMatch(/no terminal/);
  });
});
