/** Resolve an operator's device reference (name, MagicDNS name, IP, node id) in an inventory. */
import { NotFoundError } from '../../core/errors.js';
import type { Device } from '../types.js';
import { formatIp, parseIp } from './addresses.js';

function shortName(d: Device): string {
  return (d.name ?? '').split('.')[0] ?? '';
}

/** Names a responder would type for this device. */
export function deviceLabels(d: Device): string[] {
  return [d.nodeId, d.id, d.name, d.name?.replace(/\.$/, ''), shortName(d), d.hostname, ...(d.addresses ?? [])].filter(
    (x): x is string => typeof x === 'string' && x !== '',
  );
}

export function findDevice(devices: readonly Device[], query: string): Device | undefined {
  const q = query.trim().toLowerCase().replace(/\.$/, '');
  const ip = parseIp(q);
  const normalized = ip ? formatIp(ip) : q;
  // Only an IP query can equal a label's canonical IP form, so other queries skip parsing labels.
  const matches = ip
    ? (l: string) => {
        const lip = parseIp(l);
        return (lip ? formatIp(lip) : l.toLowerCase()) === normalized;
      }
    : (l: string) => l.toLowerCase() === normalized;
  const exact = devices.filter((d) => deviceLabels(d).some(matches));
  return exact.length === 1 ? exact[0] : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/** The closest device names to a query (for "did you mean"). */
export function closestDeviceNames(devices: readonly Device[], query: string, limit = 3): string[] {
  const q = query.toLowerCase();
  return devices
    .map((d) => ({ name: shortName(d) || d.hostname, score: Math.min(...deviceLabels(d).map((l) => editDistance(q, l.toLowerCase()))) }))
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((x) => x.name);
}

/** Like findDevice, but throws NotFoundError naming the closest devices (or the ambiguity). */
export function requireDevice(devices: readonly Device[], query: string): Device {
  const found = findDevice(devices, query);
  if (found) return found;
  const q = query.trim().toLowerCase();
  const many = devices.filter((d) => deviceLabels(d).some((l) => l.toLowerCase() === q));
  if (many.length > 1)
    throw new NotFoundError('unique device', query, {
      suggestions: many.map((d) => d.nodeId),
      hint: `${many.length} devices match; name one by node id.`,
    });
  throw new NotFoundError('device', query, {
    suggestions: closestDeviceNames(devices, query),
    hint: 'name the device by MagicDNS name, hostname, Tailscale IP or node id, as listed by GET /api/v2/tailnet/-/devices.',
  });
}
