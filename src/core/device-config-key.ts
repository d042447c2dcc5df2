import { UsageError } from './errors.js';

/**
 * Per-device configuration entries (`ssh.devices`, `rebuild.devices`) are keyed by names the
 * control server assigns: the node id, the MagicDNS name, or its first label. Never by
 * `hostname`, which the (compromised) node reports about itself: a node calling itself `web-2`
 * must not pick up web-2's settings.
 */
export function deviceConfigEntry<T>(device: { nodeId: string; name: string }, entries: Readonly<Record<string, T>>): { key: string; value: T } | undefined {
  const fqdn = device.name.replace(/\.$/, '');
  for (const key of [device.nodeId, fqdn, fqdn.split('.')[0] ?? fqdn]) {
    if (key && Object.hasOwn(entries, key)) return { key, value: entries[key] as T };
  }
  return undefined;
}

/**
 * The MagicDNS label the control server gave the device (what a rebuilt host enrols as). It goes
 * into commands and instructions, so it must be a DNS label; there is no fallback to `hostname`,
 * which the compromised node chose.
 */
export function magicDnsLabel(device: { name: string }): string {
  const label = device.name.split('.')[0] ?? '';
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
    throw new UsageError(`the device's MagicDNS name ${JSON.stringify(device.name)} has no usable first label: cannot name the rebuilt node`, {
      hint: 'Rebuild and enrol the node by hand under a name you choose.',
    });
  return label;
}
