import { ConflictError } from '../core/errors.js';
import type { TailnetApi } from '../tailnet/tailnet-api.js';

const mutating = new Set<keyof TailnetApi>([
  'setPolicy',
  'deleteDevice',
  'expireDevice',
  'setDeviceAuthorized',
  'setDeviceTags',
  'setDeviceRoutes',
  'setPostureAttribute',
  'deletePostureAttribute',
  'createKey',
  'deleteKey',
  'suspendUser',
  'restoreUser',
]);

/** A TailnetApi whose mutating calls throw: what `planRun` hands activities, so planning cannot change anything. */
export function readOnlyTailnet(api: TailnetApi): TailnetApi {
  return new Proxy(api, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && mutating.has(prop as keyof TailnetApi))
        return () => Promise.reject(new ConflictError(`plan mode: refused to call ${prop}; planning never changes the tailnet`));
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export function isMutatingTailnetMethod(name: string): boolean {
  return mutating.has(name as keyof TailnetApi);
}
