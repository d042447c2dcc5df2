import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { InputFileError } from '../../core/errors.js';
import { parseLocatedYaml } from '../../core/located-yaml.js';

const identity = z.string().min(1);
const role = z.enum(['owner', 'member', 'admin', 'it-admin', 'network-admin', 'billing-admin', 'auditor']);
const attrValue = z.union([z.string(), z.number(), z.boolean()]);

const routePattern = z
  .string()
  .regex(/^(GET|POST|PUT|PATCH|DELETE|\*) \/\S*$/, 'expected "METHOD /path" with * for one path segment, e.g. "POST /api/v2/users/*/suspend"');

/** Fault injection rules. Every rule is bounded: `times` failures, then it is spent. */
export const faultSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('status'),
    route: routePattern,
    status: z.union([z.literal(403), z.literal(429), z.literal(500), z.literal(502), z.literal(503), z.literal(504)]),
    times: z.number().int().min(1).max(10_000).default(1),
    message: z.string().optional(),
  }),
  z.object({
    kind: z.literal('latency'),
    route: routePattern.default('* /**'),
    ms: z.number().int().min(0).max(60_000),
  }),
  z.object({
    // Another admin edits the policy between our GET /acl and the POST that follows it.
    kind: z.literal('concurrent-policy-edit'),
    times: z.number().int().min(1).max(100).default(1),
  }),
]);
export type Fault = z.infer<typeof faultSchema>;

export const scenarioSchema = z
  .object({
    name: z.string().default('custom'),
    description: z.string().optional(),
    /** Organisation name: accepted in `/tailnet/{tailnet}` besides `-`. */
    tailnet: z.string().min(1).default('example.com'),
    /** MagicDNS suffix. */
    dnsSuffix: z.string().min(1).default('tail0000.ts.net'),
    api: z
      .object({
        /** Fixed bearer token (else a random one is printed at start). */
        token: z.string().min(16).optional(),
        /** Login name of the user the API token belongs to (audit-log actor). */
        actor: identity.optional(),
        oauthClients: z
          .array(z.object({ id: z.string().min(1), secret: z.string().min(16), scopes: z.array(z.string()).default(['all']) }))
          .default([]),
      })
      .strict()
      .default({ oauthClients: [] }),
    users: z
      .array(
        z
          .object({
            id: z.string().min(1).optional(),
            loginName: identity,
            displayName: z.string().optional(),
            role: role.default('member'),
            status: z.enum(['active', 'idle', 'suspended', 'needs-approval', 'over-billing-limit']).default('active'),
            type: z.enum(['member', 'shared']).default('member'),
            created: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
    devices: z
      .array(
        z
          .object({
            id: z.string().min(1).optional(),
            nodeId: z.string().min(1).optional(),
            hostname: z.string().min(1),
            user: identity,
            tags: z.array(z.string().regex(/^tag:[A-Za-z0-9-]+$/, 'tags look like tag:name')).default([]),
            addresses: z.array(z.string()).optional(),
            os: z.string().default('linux'),
            clientVersion: z.string().default('1.80.2'),
            created: z.string().optional(),
            lastSeen: z.string().optional(),
            authorized: z.boolean().default(true),
            isEphemeral: z.boolean().default(false),
            keyExpiryDisabled: z.boolean().default(false),
            advertisedRoutes: z.array(z.string()).default([]),
            enabledRoutes: z.array(z.string()).default([]),
            postureAttributes: z.record(z.string(), attrValue).default({}),
            /** Simulated host reachable over SSH for drills (host:port on loopback). */
            ssh: z.object({ host: z.string(), port: z.number().int() }).optional(),
          })
          .strict(),
      )
      .default([]),
    keys: z
      .array(
        z
          .object({
            id: z.string().min(1),
            description: z.string().default(''),
            created: z.string(),
            expires: z.string().optional(),
            revoked: z.string().optional(),
            reusable: z.boolean().default(false),
            ephemeral: z.boolean().default(false),
            preauthorized: z.boolean().default(false),
            tags: z.array(z.string()).default([]),
            /** Login name of the creating user; omitted for keys minted by an OAuth client. */
            user: identity.optional(),
          })
          .strict(),
      )
      .default([]),
    /** The policy file as HuJSON text. Omitted: Tailscale's auto-created default (allow all). */
    policy: z.string().optional(),
    settings: z
      .object({
        devicesApprovalOn: z.boolean().default(false),
        devicesKeyDurationDays: z.number().int().default(180),
        usersApprovalOn: z.boolean().default(false),
        networkFlowLoggingOn: z.boolean().default(false),
        postureIdentityCollectionOn: z.boolean().default(false),
      })
      .strict()
      .default({ devicesApprovalOn: false, devicesKeyDurationDays: 180, usersApprovalOn: false, networkFlowLoggingOn: false, postureIdentityCollectionOn: false }),
    faults: z.array(faultSchema).default([]),
    /** Drill settings (target device, expected outcome); read by `tailnet-ir drill`, ignored by the API. */
    drill: z.looseObject({ target: z.string().min(1) }).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const logins = new Set(s.users.map((u) => u.loginName));
    s.devices.forEach((d, i) => {
      if (!logins.has(d.user)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'user'], message: `unknown user ${JSON.stringify(d.user)}: add it to users` });
    });
    s.keys.forEach((k, i) => {
      if (k.user && !logins.has(k.user)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'user'], message: `unknown user ${JSON.stringify(k.user)}` });
    });
    if (s.api.actor && !logins.has(s.api.actor))
      ctx.addIssue({ code: 'custom', path: ['api', 'actor'], message: `unknown user ${JSON.stringify(s.api.actor)}` });
    const hostnames = new Set<string>();
    s.devices.forEach((d, i) => {
      if (hostnames.has(d.hostname)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'hostname'], message: `duplicate hostname ${JSON.stringify(d.hostname)}` });
      hostnames.add(d.hostname);
    });
  });
export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

export const defaultScenarioPath = fileURLToPath(new URL('../../../scenarios/default.yaml', import.meta.url));

/** Parse scenario text (YAML or JSON). Errors name the file, the line and the field. */
export function parseScenario(text: string, file: string): Scenario {
  return parseLocatedYaml(text, file, scenarioSchema);
}

export async function loadScenario(file?: string): Promise<Scenario> {
  const path = file ?? defaultScenarioPath;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputFileError(path, `cannot read scenario: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseScenario(text, path);
}
