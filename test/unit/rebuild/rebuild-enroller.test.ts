import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/core/config.js';
import { UsageError } from '../../../src/core/errors.js';
import type { EnrolRequest } from '../../../src/engine/ports.js';
import { chooseRebuildMethod, createRebuildEnroller, type MethodEnroller } from '../../../src/rebuild/rebuild-enroller.js';
import type { Device } from '../../../src/tailnet/types.js';

const web2: Device = { id: '7', nodeId: 'nWEB2', addresses: ['100.64.0.7'], name: 'web-2.tail1.ts.net', hostname: 'web-2', user: 'tagged-devices', tags: ['tag:web'] };
/** A compromised node that calls itself web-2 but is not web-2. */
const impostor: Device = { ...web2, id: '9', nodeId: 'nEVIL', name: 'evil.tail1.ts.net', hostname: 'web-2' };

const rebuild = (r: unknown) => configSchema.parse({ rebuild: r }).rebuild;

describe('choosing the re-enrolment method', () => {
  it('defaults to ssh; a device entry (by MagicDNS label) overrides the default; the run overrides both', () => {
    const config = rebuild({ method: 'manual', devices: { 'web-2': { method: 'sidecar', sidecar: { directory: '/srv/web' } } } });
    expect(chooseRebuildMethod(web2, rebuild({}))).toEqual({ method: 'ssh' });
    expect(chooseRebuildMethod(web2, config)).toMatchObject({ method: 'sidecar', settings: { directory: '/srv/web', service: 'tailscale', compose: ['docker', 'compose'], stateDir: 'ts/state' } });
    expect(chooseRebuildMethod(web2, config, 'ssh')).toEqual({ method: 'ssh' });
  });

  it("never matches an entry by the node's self-reported hostname", () => {
    const config = rebuild({ method: 'manual', devices: { 'web-2': { method: 'ssh' } } });
    expect(chooseRebuildMethod(impostor, config)).toEqual({ method: 'manual' });
  });

  it('sidecar without settings for the device is a usage error that says what to add', () => {
    expect(() => chooseRebuildMethod(web2, rebuild({ method: 'sidecar' }))).toThrow(UsageError);
    expect(() => chooseRebuildMethod(web2, rebuild({ method: 'sidecar' }))).toThrow(/sidecar settings/);
  });

  it('refuses sidecar settings that escape the project or name both state places', () => {
    expect(() => rebuild({ devices: { x: { method: 'sidecar', sidecar: { directory: 'relative' } } } })).toThrow(/absolute/);
    expect(() => rebuild({ devices: { x: { method: 'sidecar', sidecar: { directory: '/srv', stateDir: '../etc' } } } })).toThrow(/inside the project/);
    expect(() => rebuild({ devices: { x: { method: 'sidecar', sidecar: { directory: '/srv', stateDir: 'a', stateVolume: 'v' } } } })).toThrow(/not both/);
    expect(() => rebuild({ devices: { x: { method: 'sidecar' } } })).toThrow(/needs sidecar/);
    expect(rebuild({ devices: { x: { method: 'sidecar', sidecar: { directory: '/srv', stateVolume: 'web_state' } } } }).devices.x?.sidecar?.stateDir).toBeUndefined();
  });

  it('hands the request to the chosen method and labels the description with it', async () => {
    const seen: string[] = [];
    const method = (name: string): MethodEnroller => ({
      describe: async () => ({ summary: [name], warnings: [] }),
      enrol: async () => {
        seen.push(name);
        return { method: name, detail: '' };
      },
    });
    const enroller = createRebuildEnroller({
      config: rebuild({ devices: { nWEB2: { method: 'sidecar', sidecar: { directory: '/srv/web' } } } }),
      ssh: method('ssh'),
      manual: method('manual'),
      sidecar: (s) => method(`sidecar ${s.directory}`),
    });
    expect(await enroller.describe(web2)).toEqual({ method: 'sidecar', summary: ['sidecar /srv/web'], warnings: [] });
    expect(await enroller.describe(web2, 'manual')).toEqual({ method: 'manual', summary: ['manual'], warnings: [] });
    const request: EnrolRequest = { runId: 'r', oldDevice: web2, authKey: 'k', tags: [], expires: '2026-01-01T01:00:00Z', method: 'manual' };
    await enroller.enrol(request);
    await enroller.enrol({ ...request, method: 'sidecar' });
    expect(seen).toEqual(['manual', 'sidecar /srv/web']);
  });
});
