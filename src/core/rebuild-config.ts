import { z } from 'zod';

/**
 * `rebuild:` in tailnet-ir.yaml — how a rebuilt host receives the one-off auth key the run
 * mints after deleting the compromised device:
 *   - `ssh`: `tailscale up --auth-key=file:/dev/stdin` on the rebuilt host (key on stdin);
 *   - `sidecar`: a ScaleTail-style compose project on a container host: `TS_AUTHKEY` in `.env`
 *     rewritten from stdin, the sidecar's state cleared, the project recreated;
 *   - `manual`: the key is shown once on the operator's terminal, never stored.
 */

export const REBUILD_METHODS = ['ssh', 'sidecar', 'manual'] as const;
export type RebuildMethod = (typeof REBUILD_METHODS)[number];

const tag = z.string().regex(/^tag:[A-Za-z0-9-]+$/, 'a tag like tag:web');

/** A relative path that stays inside the compose project: no `..`, no leading `/`. */
const insideProject = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((seg) => seg === '..' || seg === '.' || seg === ''), 'a relative path inside the project directory (no . or .. segments, no leading /): emptying it must never empty the project');

export const sidecarSettingsSchema = z
  .object({
    /** The compose project directory on the container host (holds `.env` and the compose file). */
    directory: z.string().regex(/^\/[^\0\n]*$/, 'an absolute path on the container host'),
    /** The compose service of the Tailscale sidecar (ScaleTail: `tailscale`). */
    service: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/).default('tailscale'),
    /** The compose command: `[docker, compose]`, `[docker-compose]` or `[podman-compose]`. */
    compose: z.array(z.string().regex(/^[A-Za-z0-9_./-]+$/, 'a plain command word')).min(1).default(['docker', 'compose']),
    /** The sidecar's state (the node identity), bind-mounted from the project (ScaleTail: `ts/state`)... */
    stateDir: insideProject.optional(),
    /** ...or kept in a named volume. */
    stateVolume: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/).optional(),
  })
  .strict()
  .refine((s) => !(s.stateDir && s.stateVolume), 'name stateDir or stateVolume, not both')
  .transform((s) => ({ ...s, stateDir: s.stateVolume ? undefined : (s.stateDir ?? 'ts/state') }));

export type SidecarSettings = z.output<typeof sidecarSettingsSchema>;

const deviceRebuildSchema = z
  .object({
    method: z.enum(REBUILD_METHODS).optional(),
    sidecar: sidecarSettingsSchema.optional(),
  })
  .strict()
  .refine((d) => d.method !== 'sidecar' || d.sidecar, 'method sidecar needs sidecar: {directory: …}');

export const rebuildSchema = z
  .object({
    /** The default method; `devices` entries override it per device. */
    method: z.enum(REBUILD_METHODS).default('ssh'),
    /**
     * Tags for every rebuilt device (default: the old device's tags). A user-owned device is only
     * rebuilt by the run when these are set: the API cannot mint a key owned by the suspended
     * user, and an untagged key would enrol the machine as the responder's own device.
     */
    tags: z.array(tag).default([]),
    /** Per device, keyed by node id, MagicDNS name or its first label (never the self-reported hostname). */
    devices: z.record(z.string(), deviceRebuildSchema).default({}),
  })
  .strict()
  .default({ method: 'ssh', tags: [], devices: {} });

export type RebuildConfig = z.output<typeof rebuildSchema>;
