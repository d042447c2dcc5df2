import { policyEngineChecker } from '../../src/drill/sim/policy-checker.js';
import { loadScenario, parseScenario, type Scenario } from '../../src/drill/sim/scenario.js';
import { startSimServer, type RunningSim } from '../../src/drill/sim/sim-server.js';
import { TailscaleClient, type TailscaleClientOptions } from '../../src/tailnet/tailscale-client.js';
import type { RetryEnvironment } from '../../src/tailnet/retry.js';

/** Retries without real sleeping, so fault tests stay fast; sleeps are recorded. */
export function instantRetries(): RetryEnvironment & { sleeps: number[] } {
  const sleeps: number[] = [];
  return { sleeps, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, now: () => Date.now() };
}

export async function startDefaultSim(mutate?: (s: Scenario) => void): Promise<RunningSim> {
  const scenario = await loadScenario();
  mutate?.(scenario);
  return startSimServer({ scenario, checker: policyEngineChecker });
}

export async function startSimFromText(yaml: string): Promise<RunningSim> {
  return startSimServer({ scenario: parseScenario(yaml, 'inline.yaml'), checker: policyEngineChecker });
}

export function clientFor(sim: RunningSim, extra: Partial<TailscaleClientOptions> = {}): TailscaleClient {
  return new TailscaleClient({
    baseUrl: sim.url,
    tailnet: '-',
    credentials: { kind: 'api-key', apiKey: sim.token },
    retryEnvironment: instantRetries(),
    ...extra,
  });
}
