/**
 * Policies shaped after Tailscale's documentation examples: they validate, their tests pass, and
 * every device but the responder's can be quarantined provably and released byte for byte.
 */
import { describe, expect, it } from 'vitest';
import type { Device, User } from '../../../../src/tailnet/types.js';
import { checkPolicy, inventoryAfterQuarantine, planQuarantine, planRelease } from '../../../../src/tailnet/policy/index.js';
import { fixtureText } from './support.js';

const inv = {
  devices: (JSON.parse(fixtureText('tailscale-docs/devices.json')) as { devices: Device[] }).devices,
  users: (JSON.parse(fixtureText('tailscale-docs/users.json')) as { users: User[] }).users,
};

describe.each(['default.hujson', 'syntax-sample.hujson', 'grants-posture.hujson'])('Tailscale docs example %s', (name) => {
  const text = fixtureText(`tailscale-docs/${name}`);

  it('validates and passes its own tests and sshTests', () => {
    expect(checkPolicy(text, inv).failures).toEqual([]);
  });

  it.each(inv.devices.filter((d) => d.hostname !== 'dave-laptop').map((d) => d.hostname))('quarantines %s provably and releases it byte for byte', (host) => {
    const plan = planQuarantine(text, inv, { run: 'docs-1', targets: [host], responders: 'dave@example.com', isolateInbound: host === 'web-1' });
    expect(plan.refusals).toEqual([]);
    expect(plan.status).toBe('ready');
    expect(plan.blastRadius?.othersChanged).toEqual([]);
    expect(checkPolicy(plan.newText, inventoryAfterQuarantine(inv, plan)).failures).toEqual([]);
    expect(planRelease(plan.newText, 'docs-1').newText).toBe(text);
  });
});
