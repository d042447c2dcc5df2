import { NotFoundError, UsageError } from '../core/errors.js';
import type { Device } from '../tailnet/types.js';
import { closestDeviceNames } from '../tailnet/policy/device-lookup.js';

/**
 * Find the device a responder named: node id, legacy id, Tailscale IP, MagicDNS name (with or
 * without the tailnet suffix) or hostname. Pure; the caller lists the devices.
 */
export function resolveTarget(query: string, devices: Device[]): Device {
  const q = query.trim().replace(/\.$/, '').toLowerCase();
  const exact = devices.filter((d) => d.nodeId.toLowerCase() === q || d.id.toLowerCase() === q || d.addresses.some((a) => a.toLowerCase() === q));
  if (exact.length === 1) return exact[0] as Device;
  const byName = devices.filter(
    (d) =>
      d.name.replace(/\.$/, '').toLowerCase() === q ||
      shortName(d).toLowerCase() === q ||
      d.hostname.toLowerCase() === q,
  );
  const matches = exact.length ? exact : byName;
  if (matches.length === 1) return matches[0] as Device;
  if (matches.length > 1)
    throw new UsageError(
      `${JSON.stringify(query)} matches ${matches.length} devices: ${matches.map((d) => `${d.name} (${d.nodeId}, ${d.addresses[0] ?? 'no address'})`).join('; ')}.`,
      { hint: 'name the device by node id or Tailscale IP instead; nothing was changed.' },
    );
  throw new NotFoundError('device', query, {
    suggestions: closestDeviceNames(devices, q),
    hint: 'check the name with `tailscale status` or the admin console; nothing was changed.',
  });
}

function shortName(d: Device): string {
  return d.name.split('.')[0] ?? d.name;
}

/** The device fields worth keeping in outputs and journals (no keys, no posture blobs). */
export type DeviceSummary = {
  id: string;
  nodeId: string;
  name: string;
  hostname: string;
  addresses: string[];
  user: string;
  tags: string[];
  created: string | null;
  isEphemeral: boolean;
  os: string | null;
};

export function summarizeDevice(d: Device): DeviceSummary {
  return {
    id: d.id,
    nodeId: d.nodeId,
    name: d.name,
    hostname: d.hostname,
    addresses: [...d.addresses],
    user: d.user,
    tags: [...(d.tags ?? [])],
    created: d.created ?? null,
    isEphemeral: d.isEphemeral ?? false,
    os: d.os ?? null,
  };
}
