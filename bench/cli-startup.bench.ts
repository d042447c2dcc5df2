/**
 * `tailnet-ir --help` must start fast: it is the first thing a responder types. Measures the
 * built CLI (dist/) over several runs; goal: median < 300 ms on the CI machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const runs = 15;
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [entry, '--help'], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`--help exited ${r.status}`);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(runs / 2)]!;
console.log(`cli --help: median ${median.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms over ${runs} runs (goal < 300 ms)`);
