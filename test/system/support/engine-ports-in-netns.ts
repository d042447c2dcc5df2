/**
 * Runs inside a lab namespace (the test process cannot enter one) and drives the engine's SSH
 * ports exactly as `tailnet-ir respond` builds them (buildEngineDeps from a tailnet-ir.yaml):
 * the evidence collector's route and collection, and the re-enrolment of a rebuilt host.
 *
 *   node --import tsx engine-ports-in-netns.ts REQUEST.json
 *
 * REQUEST: { config, stateHome, steps: [{ action: 'route' | 'collect' | 'enrol', runId, device }] }.
 * Prints one JSON line: each step's route and result, or its error (code and message).
 * No tailnet API is reached: these ports use only SSH.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../../src/cli/config-file.js';
import { buildEngineDeps } from '../../../src/cli/engine-wiring.js';
import { createSystemClock } from '../../../src/core/clock.js';
import type { CollectionRoute } from '../../../src/engine/ports.js';
import type { TailnetApi } from '../../../src/tailnet/tailnet-api.js';
import type { Device } from '../../../src/tailnet/types.js';

export interface PortsRequest {
  config: string;
  stateHome: string;
  steps: { action: 'route' | 'collect' | 'enrol'; runId: string; device: Device; authKey?: string }[];
}

export interface PortsStepResult {
  action: string;
  route?: CollectionRoute;
  archivePath?: string;
  detail?: string;
  error?: { code: string; message: string };
}

const request = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as PortsRequest;
const { config } = await loadConfig(request.config, {});
const noTailnet = new Proxy({} as TailnetApi, {
  get: (_t, name) => () => Promise.reject(new Error(`the lab has no tailnet API (${String(name)})`)),
});
const deps = await buildEngineDeps({
  config,
  tailnet: noTailnet,
  clock: createSystemClock(),
  stateHome: request.stateHome,
  operator: 'lab',
  approver: { decide: () => Promise.reject(new Error('no approvals in this lab')) },
  progress: () => undefined,
  env: { ...process.env, SSH_AUTH_SOCK: '' },
});

const results: PortsStepResult[] = [];
for (const step of request.steps) {
  const out: PortsStepResult = { action: step.action };
  try {
    if (step.action === 'enrol') {
      // A variable, not a literal: the request may carry more than this port needs (expiry, method).
      const enrol = { runId: step.runId, oldDevice: step.device, authKey: step.authKey ?? '', tags: ['tag:lab'], expires: new Date(Date.now() + 3_600_000).toISOString(), method: 'ssh' as const };
      const r = await deps.ports.enroller.enrol(enrol);
      out.detail = r.detail;
    } else {
      out.route = await deps.ports.evidence.routeFor(step.device);
      if (step.action === 'collect') {
        const r = await deps.ports.evidence.collect({ runId: step.runId, device: step.device, route: out.route, signal: new AbortController().signal, progress: () => undefined });
        out.archivePath = r.archivePath;
      }
    }
  } catch (err) {
    out.error = { code: (err as { code?: string }).code ?? 'error', message: (err as Error).message };
  }
  results.push(out);
}
process.stdout.write(`${JSON.stringify(results)}\n`);
