/**
 * Picks the re-enrolment method for a device (the run's choice, else `rebuild.devices`, else
 * `rebuild.method`) and hands the request to that method's enroller.
 */
import { deviceConfigEntry } from '../core/device-config-key.js';
import { UsageError } from '../core/errors.js';
import type { RebuildConfig, RebuildMethod, SidecarSettings } from '../core/rebuild-config.js';
import type { EnrolRequest, HostEnroller, RebuildDescription } from '../engine/ports.js';
import type { Device } from '../tailnet/types.js';

/** One method's enroller: what it will do for a device, and doing it. */
export interface MethodEnroller {
  describe(device: Device): Promise<Omit<RebuildDescription, 'method'>>;
  enrol(request: EnrolRequest): Promise<{ method: string; detail: string }>;
}

export interface RebuildEnrollerOptions {
  config: RebuildConfig;
  ssh: MethodEnroller;
  manual: MethodEnroller;
  sidecar: (settings: SidecarSettings) => MethodEnroller;
}

export type RebuildChoice = { method: 'ssh' | 'manual' } | { method: 'sidecar'; settings: SidecarSettings };

/** Pure: the method and its settings for a device. */
export function chooseRebuildMethod(device: Device, config: RebuildConfig, override?: RebuildMethod): RebuildChoice {
  const entry = deviceConfigEntry(device, config.devices);
  const method = override ?? entry?.value.method ?? config.method;
  if (method !== 'sidecar') return { method };
  const settings = entry?.value.sidecar;
  if (!settings)
    throw new UsageError(`rebuild method sidecar for ${device.name}: no sidecar settings for this device`, {
      hint: `Add rebuild.devices.${device.nodeId}: {method: sidecar, sidecar: {directory: /path/of/the/compose/project}} to tailnet-ir.yaml.`,
    });
  return { method, settings };
}

export function createRebuildEnroller(o: RebuildEnrollerOptions): HostEnroller {
  const enrollerFor = (choice: RebuildChoice): MethodEnroller => (choice.method === 'sidecar' ? o.sidecar(choice.settings) : o[choice.method]);
  return {
    async describe(device, override) {
      const choice = chooseRebuildMethod(device, o.config, override);
      return { method: choice.method, ...(await enrollerFor(choice).describe(device)) };
    },
    async enrol(request) {
      return enrollerFor(chooseRebuildMethod(request.oldDevice, o.config, request.method)).enrol(request);
    },
  };
}
