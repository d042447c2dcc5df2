/**
 * Turning configuration into SSH ingredients: the host-key pin, the client credentials, and
 * the route to a device. Shared by `tailnet-ir collect`, the playbook's evidence collector and
 * the re-enrolment of rebuilt hosts.
 */
import { readFile } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import { deviceConfigEntry } from '../core/device-config-key.js';
import { CredentialsError, InputFileError, UsageError } from '../core/errors.js';
import type { Device } from '../tailnet/types.js';
import { parseKnownHosts, type HostKeyPin } from './host-keys.js';
import { formatSshEndpoint, type HostTarget, type SshEndpoint } from './remote-command.js';
import { loadKeyAuth, type SshAuth } from './ssh-connector.js';

export async function loadHostKeyPin(source: { knownHosts?: string | undefined; fingerprint?: string | undefined }): Promise<HostKeyPin> {
  if (source.knownHosts) {
    const file = source.knownHosts;
    const text = await readFile(file, 'utf8').catch((err: Error) => {
      throw new InputFileError(file, `cannot read: ${err.message}`);
    });
    return { kind: 'known-hosts', entries: parseKnownHosts(text), source: file };
  }
  if (source.fingerprint) {
    if (!/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(source.fingerprint))
      throw new UsageError(`host key ${JSON.stringify(source.fingerprint)} is not a SHA256 fingerprint like ssh-keygen -lf prints.`);
    return { kind: 'fingerprint', fingerprint: source.fingerprint };
  }
  throw new UsageError('No host key pinned: name a known_hosts file or a SHA256:… fingerprint.', {
    hint: 'Evidence is only collected from a host whose key you pinned deliberately (on the node console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).',
  });
}

export async function loadSshAuth(
  identityFile: string | undefined,
  options: { useAgent?: boolean; passphrase: () => Promise<string | undefined>; env?: NodeJS.ProcessEnv },
): Promise<SshAuth> {
  const env = options.env ?? process.env;
  if (identityFile) return loadKeyAuth(identityFile, options.passphrase);
  if (env.SSH_AUTH_SOCK && options.useAgent !== false) return { kind: 'agent', socketPath: env.SSH_AUTH_SOCK };
  throw new CredentialsError('No SSH credentials: name an identity file or start ssh-agent (SSH_AUTH_SOCK).');
}

export interface SshRoute {
  /** Where to connect; `target.jump` is the effective jump host for this device, if any. */
  target: HostTarget;
  /** `tailnet`: over the node's Tailscale address (lost when its user is suspended); `out-of-band`: a management address. */
  path: 'tailnet' | 'out-of-band';
  /** The jump host as `user@host:port`, for plans and messages (`target.jump` is what connects). */
  via?: string;
}

/**
 * Where to SSH for a device: its entry under `ssh.devices` if there is one, else its Tailscale
 * IPv4 address. Entries are matched by node id, MagicDNS name or its first label — names the
 * control server assigns — and never by `hostname`, which the (compromised) node reports about
 * itself: a node calling itself `web-2` must not be routed to web-2's management address (nor
 * through web-2's jump host). The label is the device's hostname, which the archive writer
 * sanitises.
 *
 * The jump host is the entry's own `jump` if it names one (`none`: connect directly), else the
 * global `ssh.jump`; a jump without a user logs in as `ssh.user`.
 */
export function resolveSshRoute(device: Device, ssh: Config['ssh']): SshRoute {
  const found = deviceConfigEntry(device, ssh.devices);
  if (found) {
    const { key, value: entry } = found;
    const jump = effectiveJump(ssh, { key, jump: entry.jump });
    return {
      target: { label: device.hostname, address: entry.address, port: entry.port, user: entry.user ?? ssh.user, ...(jump ? { jump } : {}) },
      path: entry.path ?? 'out-of-band',
      ...(jump ? { via: formatSshEndpoint(jump) } : {}),
    };
  }
  const address = device.addresses.find((a) => !a.includes(':')) ?? device.addresses[0];
  if (!address) throw new UsageError(`${device.name} has no Tailscale address and no ssh.devices entry: nowhere to connect`);
  const jump = effectiveJump(ssh);
  return {
    target: { label: device.hostname, address, port: 22, user: ssh.user, ...(jump ? { jump } : {}) },
    path: 'tailnet',
    ...(jump ? { via: formatSshEndpoint(jump) } : {}),
  };
}

/** The device entry's own `jump` if it has one, else `ssh.jump`; `none` at either level: direct. */
function effectiveJump(ssh: Config['ssh'], device?: { key: string; jump: string | undefined }): SshEndpoint | undefined {
  if (device?.jump !== undefined) return device.jump === NO_JUMP ? undefined : parseJump(device.jump, ssh.user, `ssh.devices.${device.key}.jump`);
  return ssh.jump === undefined || ssh.jump === NO_JUMP ? undefined : parseJump(ssh.jump, ssh.user, 'ssh.jump');
}

/** `user@host:port[ via user@jump:port]`: how plans and messages name a route. */
export function describeRoute(route: SshRoute): string {
  return `${formatSshEndpoint(route.target)}${route.via ? ` via ${route.via}` : ''}`;
}

/** `jump: none` (per device or global): connect directly. */
export const NO_JUMP = 'none';

/** `[user@]host[:port]` as written in the config (`ssh.jump`, `ssh.devices.<key>.jump`). */
export function parseJump(text: string, defaultUser: string, field = 'ssh.jump'): SshEndpoint {
  const m = /^(?:([^@\s]+)@)?(\[[0-9a-fA-F:.]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[3] ? Number(m[3]) : 22;
  if (!m || port < 1 || port > 65535)
    throw new UsageError(`${field} ${JSON.stringify(text)} is not [USER@]HOST[:PORT] (or ${NO_JUMP})`, { hint: 'e.g. ops@bastion.example.com:2222' });
  return { user: m[1] ?? defaultUser, address: m[2]!.replace(/^\[|\]$/g, ''), port };
}
