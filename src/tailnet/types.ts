/**
 * Shapes of the Tailscale API v2 objects tailnet-ir reads and writes (see
 * shared reference tailscale-api.md §4–§7). Only fields the tool uses are required; the rest
 * are optional so that real API bodies and simulator bodies both fit.
 */

export interface Device {
  id: string;
  nodeId: string;
  /** Tailscale addresses: one IPv4 in 100.64.0.0/10 and one IPv6 in fd7a:115c:a1e0::/48. */
  addresses: string[];
  /** MagicDNS FQDN, e.g. `web-1.tail1234.ts.net`. */
  name: string;
  hostname: string;
  /** Login name of the registering user; for tagged devices ignore it for matching. */
  user: string;
  tags?: string[];
  authorized?: boolean;
  keyExpiryDisabled?: boolean;
  expires?: string;
  created?: string;
  lastSeen?: string;
  connectedToControl?: boolean;
  multipleConnections?: boolean;
  os?: string;
  clientVersion?: string;
  updateAvailable?: boolean;
  isExternal?: boolean;
  isEphemeral?: boolean;
  machineKey?: string;
  nodeKey?: string;
  blocksIncomingConnections?: boolean;
  advertisedRoutes?: string[];
  enabledRoutes?: string[];
  /** Posture attributes as the evaluator sees them (`node:os`, `custom:x`, …). Simulator/test input. */
  postureAttributes?: Record<string, string | number | boolean>;
}

export interface DeviceList {
  devices: Device[];
}

export interface DeviceRoutes {
  advertisedRoutes: string[];
  enabledRoutes: string[];
}

export interface PostureAttributes {
  attributes: Record<string, string | number | boolean>;
  expiries?: Record<string, string>;
}

export type UserRole =
  | 'owner'
  | 'member'
  | 'admin'
  | 'it-admin'
  | 'network-admin'
  | 'billing-admin'
  | 'auditor';

export type UserStatus = 'active' | 'idle' | 'suspended' | 'needs-approval' | 'over-billing-limit';

export interface User {
  id: string;
  displayName: string;
  loginName: string;
  profilePicUrl?: string;
  tailnetId?: string;
  created?: string;
  type: 'member' | 'shared';
  role: UserRole;
  status: UserStatus;
  deviceCount?: number;
  lastSeen?: string;
  currentlyConnected?: boolean;
}

export interface UserList {
  users: User[];
}

export interface KeyCapabilities {
  devices?: {
    create?: {
      reusable?: boolean;
      ephemeral?: boolean;
      preauthorized?: boolean;
      tags?: string[];
    };
  };
}

export interface Key {
  id: string;
  /** The secret (`tskey-auth-…`): returned once, by create. Never log or persist it. */
  key?: string;
  keyType?: 'auth' | 'client' | 'api' | 'federated';
  description?: string;
  created: string;
  updated?: string;
  expires?: string;
  revoked?: string;
  invalid?: boolean;
  expirySeconds?: number;
  capabilities?: KeyCapabilities;
  tags?: string[];
  userId?: string;
}

export interface KeyList {
  keys: Key[];
}

export interface CreateKeyRequest {
  keyType?: 'auth';
  capabilities: KeyCapabilities;
  expirySeconds?: number;
  description?: string;
}

/** One `tests[]` entry of a policy file (legacy `user`/`allow` accepted). */
export interface PolicyTest {
  src?: string;
  user?: string;
  proto?: string | number;
  accept?: string[];
  allow?: string[];
  deny?: string[];
  srcPostureAttrs?: Record<string, string | number | boolean>;
}

/** One entry of the `data` array the control server returns when tests fail. */
export interface PolicyTestFailure {
  user: string;
  errors?: string[];
  warnings?: string[];
}

/** Body of `/acl/validate` and of a 400 from `POST /acl` when tests fail. */
export interface PolicyValidationResult {
  message?: string;
  data?: PolicyTestFailure[];
}

export interface PolicyFile {
  /** The HuJSON (or JSON) text exactly as served. */
  text: string;
  /** Opaque ETag without surrounding quotes. */
  etag: string;
}

export interface AuditLogActor {
  id: string;
  type: string;
  loginName?: string;
  displayName?: string;
  tags?: string[];
}

export interface AuditLogTarget {
  id: string;
  name?: string;
  type: string;
  isEphemeral?: boolean;
  property?: string;
}

export interface ConfigurationAuditLog {
  eventTime: string;
  type: 'CONFIG';
  deferredAt?: string;
  eventGroupID: string;
  origin: string;
  actor: AuditLogActor;
  target: AuditLogTarget;
  action: string;
  old?: unknown;
  new?: unknown;
  actionDetails?: string;
  error?: string;
}

export interface ConfigurationAuditLogList {
  version: string;
  tailnet: string;
  logs: ConfigurationAuditLog[];
}

export interface NetworkFlowLog {
  logged: string;
  nodeId: string;
  start: string;
  end: string;
  virtualTraffic?: unknown[];
  subnetTraffic?: unknown[];
  exitTraffic?: unknown[];
  physicalTraffic?: unknown[];
}

export interface TailnetSettings {
  devicesApprovalOn?: boolean;
  devicesKeyDurationDays?: number;
  usersApprovalOn?: boolean;
  networkFlowLoggingOn?: boolean;
  postureIdentityCollectionOn?: boolean;
  aclsExternallyManagedOn?: boolean;
}
