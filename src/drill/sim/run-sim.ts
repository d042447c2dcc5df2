import { UsageError } from '../../core/errors.js';
import { terminalSafe } from '../../core/terminal-text.js';
import { parseFailFlag } from './fault-injector.js';
import { policyEngineChecker } from './policy-checker.js';
import { faultSchema, loadScenario, type Fault } from './scenario.js';
import { startSimServer } from './sim-server.js';

export interface RunSimOptions {
  scenario?: string;
  listen: string;
  json?: boolean;
  token?: string;
  latency?: string;
  fail: string[];
  forbid: string[];
  racePolicy?: string;
}

/** `tailnet-ir sim`: serve until SIGTERM/SIGINT. */
export async function runSim(opts: RunSimOptions): Promise<void> {
  const { host, port } = parseListen(opts.listen);
  const scenario = await loadScenario(opts.scenario);
  scenario.faults.push(...faultsFromFlags(opts));
  const sim = await startSimServer({
    scenario,
    checker: policyEngineChecker,
    host,
    port,
    ...(opts.token ? { token: opts.token } : {}),
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ url: sim.url, token: sim.token, tailnet: scenario.tailnet, scenario: scenario.name })}\n`);
  } else {
    process.stdout.write(
      `simulated tailnet ${terminalSafe(scenario.name)} (${terminalSafe(scenario.tailnet)}) listening on ${sim.url}\n` +
        `  export TAILSCALE_BASE_URL=${sim.url}\n` +
        `  export TAILSCALE_API_KEY=${sim.token}\n` +
        `${scenario.faults.length ? `  injected faults: ${scenario.faults.length}\n` : ''}` +
        'press Ctrl-C to stop\n',
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void sim.close().then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen expects HOST:PORT on loopback, e.g. 127.0.0.1:8411; got ${JSON.stringify(listen)}`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)))
    throw new UsageError(`the simulated tailnet listens on loopback only (127.0.0.1, ::1 or localhost), not ${host}`);
  return { host, port };
}

function faultsFromFlags(opts: RunSimOptions): Fault[] {
  const faults: unknown[] = [];
  if (opts.latency !== undefined) faults.push({ kind: 'latency', route: '* /**', ms: Number(opts.latency) });
  for (const f of opts.fail) {
    try {
      faults.push(parseFailFlag(f));
    } catch (err) {
      throw new UsageError(`--fail: ${(err as Error).message}`);
    }
  }
  for (const r of opts.forbid) faults.push({ kind: 'status', route: r, status: 403, times: 10_000 });
  if (opts.racePolicy !== undefined) faults.push({ kind: 'concurrent-policy-edit', times: Number(opts.racePolicy) });
  return faults.map((f) => {
    const parsed = faultSchema.safeParse(f);
    if (!parsed.success) throw new UsageError(`invalid fault flag: ${parsed.error.issues[0]?.message ?? 'invalid'} (${JSON.stringify(f)})`);
    return parsed.data;
  });
}
