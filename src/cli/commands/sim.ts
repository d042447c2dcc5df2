import type { CommandSpec } from '../command-spec.js';
import type { RunSimOptions as SimOptions } from '../../drill/sim/run-sim.js';

const collect = (value: string, previous: string[]) => [...previous, value];

const spec: CommandSpec = {
  name: 'sim',
  summary: 'Serve a simulated tailnet that speaks the Tailscale API (for drills and tests)',
  configure(cmd) {
    cmd
      .option('--scenario <file>', 'scenario file (YAML or JSON); default: the built-in Example Corp tailnet')
      .option('--listen <host:port>', 'loopback address to listen on (port 0 picks a free one)', '127.0.0.1:0')
      .option('--json', 'print one JSON line {"url","token",…} when ready, nothing else')
      .option('--token <token>', 'bearer token to require (default: random, printed at start)')
      .option('--latency <ms>', 'add this much latency to every request')
      .option('--fail <rule>', 'inject failures: "METHOD /path=STATUS[xN]", * matches one path segment (repeatable)', collect, [])
      .option('--forbid <route>', 'answer 403 on "METHOD /path" (repeatable)', collect, [])
      .option('--race-policy <n>', 'simulate N concurrent policy edits between a GET /acl and the next POST /acl')
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  tailnet-ir sim\n' +
          '  tailnet-ir sim --json --listen 127.0.0.1:8411\n' +
          '  tailnet-ir sim --fail "POST /api/v2/users/*/suspend=403" --race-policy 1\n' +
          '\nThen point the client at it:\n' +
          '  export TAILSCALE_BASE_URL=<url> TAILSCALE_API_KEY=<token>\n',
      )
      .action(async (opts: SimOptions) => {
        const { runSim } = await import('../../drill/sim/run-sim.js');
        await runSim(opts);
      });
  },
};
export default spec;
