import { z } from 'zod';
import { approvalPolicySchema } from './approval-policy.js';
import { parseDuration } from './clock.js';
import { rebuildSchema } from './rebuild-config.js';

/**
 * `tailnet-ir.yaml`: who the responders are, what the node must never reach, how to reach the
 * node over SSH, how evidence is signed, which steps need a human. Secrets are never written
 * inline: the file names an environment variable or a file that holds them.
 */

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h)$/, 'a duration like 500ms, 30s, 5m or 1h')
  .transform((v) => parseDuration(v));

const hostPort = z.string().regex(/^(?:\[[0-9a-fA-F:]+\]|[^\s[\]]+):\d{1,5}$/, 'host:port with a single port, e.g. tag:db:5432 or 100.64.0.20:5432');

const USER_AT_HOST = /^([A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+(:\d{1,5})?$|^([A-Za-z0-9._-]+@)?\[[0-9a-fA-F:]+\](:\d{1,5})?$/;
const portInRange = (v: string) => {
  const port = /\]?:(\d{1,5})$/.exec(v)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
};

/**
 * A ProxyJump host: `[USER@]HOST[:PORT]` (USER defaults to `ssh.user`, PORT to 22), or `none` to
 * connect directly. Per device, `none` overrides a global `ssh.jump`.
 */
const jumpHost = z
  .string()
  .regex(USER_AT_HOST, 'USER@HOST[:PORT] (e.g. ops@bastion.example.com:2222), or none to connect directly')
  .refine(portInRange, 'the jump port must be between 1 and 65535');

const secretRef = z
  .object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(), file: z.string().optional() })
  .strict()
  .refine((s) => (s.env ? 1 : 0) + (s.file ? 1 : 0) === 1, 'name exactly one of env or file; secrets are never written in the config');

export const configSchema = z
  .object({
    /** Selectors (users, groups, tags) that keep inbound SSH to a quarantined node. */
    responders: z.array(z.string().min(1)).min(1).default(['group:incident-response']),
    /** Destinations the quarantine pins as denied with policy tests. */
    highRiskResources: z.array(hostPort).default([]),
    quarantine: z
      .object({
        /** Also cut inbound access to the node, except responders' SSH. */
        isolateInbound: z.boolean().default(false),
        tag: z.string().regex(/^tag:[A-Za-z0-9-]+$/).default('tag:quarantine'),
      })
      .strict()
      .default({ isolateInbound: false, tag: 'tag:quarantine' }),
    ssh: z
      .object({
        user: z.string().min(1).default('root'),
        identityFile: z.string().optional(),
        identityPassphrase: secretRef.optional(),
        /** Use the SSH agent for authentication (never forwarded). */
        agent: z.boolean().default(false),
        knownHosts: z.string().optional(),
        /** ProxyJump for every connection, unless a device names its own `jump` (or `none`). */
        jump: jumpHost.optional(),
        connectTimeout: duration.default(15_000),
        commandTimeout: duration.default(300_000),
        /**
         * Per-device addresses instead of the Tailscale address (out-of-band management), keyed by
         * node id, MagicDNS name or its first label (never the node's self-reported hostname).
         * `jump` reaches that address through its own jump host (its key pinned in knownHosts like
         * the target's); `none` connects directly even when `ssh.jump` is set; without it the
         * global `ssh.jump` applies.
         */
        devices: z
          .record(
            z.string(),
            z
              .object({
                address: z.string().min(1),
                port: z.number().int().min(1).max(65535).default(22),
                user: z.string().optional(),
                jump: jumpHost.optional(),
                /**
                 * `out-of-band` (default): a management address that survives suspending the owner.
                 * `tailnet`: the address is itself reached over the tailnet (a MagicDNS name, a
                 * subnet-routed address), so the playbook collects before suspending the owner.
                 */
                path: z.enum(['out-of-band', 'tailnet']).default('out-of-band'),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .default({ user: 'root', agent: false, connectTimeout: 15_000, commandTimeout: 300_000, devices: {} }),
    collection: z
      .object({
        /**
         * When suspending the user would cut the tailnet path collection needs, the playbook
         * collects before the identity step; an `ssh.devices` entry makes the path out-of-band
         * (unless it says `path: tailnet`).
         */
        collectors: z.array(z.string()).default(['tailscale-client', 'host-triage', 'containers', 'scaletail']),
      })
      .strict()
      .default({ collectors: ['tailscale-client', 'host-triage', 'containers', 'scaletail'] }),
    evidence: z
      .object({
        signingKey: z.string().optional(),
        signingKeyPassphrase: secretRef.optional(),
        /** Principal written to allowed_signers and used with `ssh-keygen -Y verify -I`. */
        signerIdentity: z.string().default('tailnet-ir'),
        useAgent: z.boolean().default(false),
      })
      .strict()
      .default({ signerIdentity: 'tailnet-ir', useAgent: false }),
    rebuild: rebuildSchema,
    /** e.g. `{default: manual, rules: [{step: quarantine, decision: auto}]}`. */
    approvals: approvalPolicySchema.default({ default: 'manual', rules: [] }),
    pager: z
      .object({
        listen: z.string().default('127.0.0.1:8080'),
        pagerduty: z.object({ secrets: z.array(secretRef).min(1) }).strict().optional(),
        opsgenie: z.object({ header: z.string().default('X-Tailnet-IR-Token'), secret: secretRef }).strict().optional(),
        generic: z.object({ header: z.string().default('X-Signature-256'), secret: secretRef }).strict().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SecretRef = z.infer<typeof secretRef>;

/** The configuration in force when no file is given. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
