/**
 * Re-enrol a rebuilt host over SSH: `tailscale up --auth-key=file:/dev/stdin` with the freshly
 * minted key written to the command's stdin, so it never appears in argv, `ps`, a file or a log.
 */
import { Writable } from 'node:stream';
import { magicDnsLabel } from '../core/device-config-key.js';
import { HostKeyRejectedError } from './evidence-errors.js';
import { EnrolmentFailedError, EnrolmentRefusedError } from '../rebuild/enrolment-failed-error.js';
import type { MethodEnroller } from '../rebuild/rebuild-enroller.js';
import type { Device } from '../tailnet/types.js';
import type { RemoteConnector } from './remote-command.js';
import { describeRoute, type SshRoute } from './ssh-setup.js';

export interface SshHostEnrollerOptions {
  connector: RemoteConnector;
  routeFor: (device: Device) => SshRoute;
  /** Host-key fingerprints this run saw on the compromised node, by node id. */
  compromisedHostKeys: (runId: string) => Promise<Record<string, string>>;
  timeoutMs?: number;
}

export function createSshHostEnroller(options: SshHostEnrollerOptions): MethodEnroller {
  return {
    async describe(device) {
      const route = options.routeFor(device);
      const at = describeRoute(route);
      return {
        summary: [`over SSH to ${at}: tailscale up --auth-key=file:/dev/stdin --hostname=${magicDnsLabel(device)} (key on stdin, never in argv)`],
        warnings:
          route.path === 'tailnet'
            ? [`${at} is reached over the tailnet: a rebuilt host is not on the tailnet until it enrols. Map ${magicDnsLabel(device)} under ssh.devices to its management address, or choose rebuild method manual or sidecar.`]
            : [],
      };
    },
    async enrol({ runId, oldDevice, authKey, tags }) {
      const route = options.routeFor(oldDevice);
      // The same route as collection: the device's own jump host (or none), else the global one.
      const via = route.via ? ` via ${route.via}` : '';
      let host;
      try {
        host = await options.connector.connect(route.target);
      } catch (err) {
        // A key that is not pinned (or does not match) will not change by retrying.
        if (err instanceof HostKeyRejectedError)
          throw new EnrolmentRefusedError(`the rebuilt host at ${route.target.address}:${route.target.port}${via} presented an SSH host key that is not pinned: ${err.message}`, {
            hint: "Pin the rebuilt host's new key in known_hosts (check it on the console), then resume. The minted key was revoked.",
            cause: err,
          });
        throw new EnrolmentFailedError(`cannot reach the rebuilt host at ${route.target.address}:${route.target.port}${via} over SSH: ${(err as Error).message}`, {
          hint: 'Finish the rebuild (the host up, its new SSH host key pinned in known_hosts), then resume. The minted key was revoked.',
          cause: err,
        });
      }
      try {
        const seen = (await options.compromisedHostKeys(runId))[oldDevice.nodeId];
        if (seen && seen === host.identity.hostKeyFingerprint)
          throw new EnrolmentRefusedError(
            `${route.target.address} still presents the compromised node's SSH host key (${seen}): it has not been rebuilt, so it gets no auth key`,
            { hint: 'Rebuild the host (a rebuild has a new host key), pin its new key in known_hosts, then resume. The minted key was revoked.' },
          );
        // The MagicDNS label is assigned by the control server; `hostname` is what the compromised node claimed.
        const name = magicDnsLabel(oldDevice);
        const argv = ['tailscale', 'up', '--reset', '--auth-key=file:/dev/stdin', `--hostname=${name}`];
        if (tags.length) argv.push(`--advertise-tags=${tags.join(',')}`);
        const discard = new Writable({ write: (_c, _e, cb) => cb() });
        const r = await host.run({ argv, timeoutMs: options.timeoutMs ?? 120_000, maxBytes: 64 * 1024, stdin: `${authKey}\n` }, discard);
        if (r.exitCode !== 0) {
          // The node's answer is hostile and could echo what it read: keep the key out of the message.
          const said = r.stderrExcerpt.split(authKey).join('[REDACTED]').slice(0, 300);
          throw new EnrolmentFailedError(
            `tailscale up on ${route.target.address} failed (${r.timedOut ? 'timed out' : r.connectionLost ? 'connection lost' : `exit ${r.exitCode ?? r.signal ?? '?'}`}): ${said}`,
            { hint: 'The minted key is one-off and expires within the hour; resume to mint a new one, or enrol the host by hand.' },
          );
        }
        return { method: 'ssh', detail: `tailscale up on ${route.target.address}:${route.target.port} (${route.path}${via}); key passed on stdin` };
      } finally {
        await host.close();
      }
    },
  };
}
