import type {
  ConfigurationAuditLogList,
  CreateKeyRequest,
  Device,
  DeviceRoutes,
  Key,
  PolicyFile,
  PolicyTest,
  PolicyValidationResult,
  PostureAttributes,
  TailnetSettings,
  User,
} from './types.js';

/**
 * Everything the engine needs from a tailnet. `TailscaleClient` implements it over HTTP, against
 * api.tailscale.com or the simulated tailnet; tests may pass a fake. Errors are the typed errors in
 * `api-errors.ts` (NotFound → ApiNotFoundError, 412 → PolicyConflictError, failed tests →
 * PolicyTestsFailedError).
 */
export interface TailnetApi {
  // policy file
  getPolicy(): Promise<PolicyFile>;
  /** Replace the policy. With `ifMatch`, fails with PolicyConflictError if it changed since. */
  setPolicy(text: string, options?: { ifMatch?: string }): Promise<PolicyFile>;
  /** Validate a candidate policy (its own tests run). Never saves. */
  validatePolicy(text: string): Promise<PolicyValidationResult>;
  /** Run tests against the saved policy. Never saves. */
  runPolicyTests(tests: PolicyTest[]): Promise<PolicyValidationResult>;
  previewPolicy(text: string, type: 'user' | 'ipport', previewFor: string): Promise<unknown>;

  // devices
  listDevices(options?: { all?: boolean }): Promise<Device[]>;
  getDevice(deviceId: string, options?: { all?: boolean }): Promise<Device>;
  deleteDevice(deviceId: string): Promise<void>;
  expireDevice(deviceId: string): Promise<void>;
  setDeviceAuthorized(deviceId: string, authorized: boolean): Promise<void>;
  setDeviceTags(deviceId: string, tags: string[]): Promise<void>;
  getDeviceRoutes(deviceId: string): Promise<DeviceRoutes>;
  setDeviceRoutes(deviceId: string, routes: string[]): Promise<DeviceRoutes>;
  getPostureAttributes(deviceId: string): Promise<PostureAttributes>;
  setPostureAttribute(
    deviceId: string,
    key: string,
    value: string | number | boolean,
    options?: { expiry?: string; comment?: string },
  ): Promise<void>;
  deletePostureAttribute(deviceId: string, key: string): Promise<void>;

  // keys
  listKeys(options?: { all?: boolean }): Promise<Key[]>;
  getKey(keyId: string): Promise<Key>;
  /** Returns the key with its secret `key` field: the only time the secret is available. */
  createKey(request: CreateKeyRequest): Promise<Key>;
  deleteKey(keyId: string): Promise<void>;

  // users
  listUsers(options?: { type?: 'member' | 'shared' | 'all'; role?: string }): Promise<User[]>;
  getUser(userId: string): Promise<User>;
  suspendUser(userId: string): Promise<void>;
  restoreUser(userId: string): Promise<void>;

  // logging and settings
  getConfigurationAuditLog(query?: {
    start?: string;
    end?: string;
    actor?: string[];
    target?: string[];
    event?: string[];
  }): Promise<ConfigurationAuditLogList>;
  getNetworkFlowLogs(query: { start: string; end: string }): Promise<unknown>;
  getSettings(): Promise<TailnetSettings>;
}
