/**
 * Peak resident memory while collecting a 1 GiB container export (`docker export` of a
 * container holding 1 GiB of random data, through a real dockerd and sshd). Goal: ≤ 150 MB.
 * Without dockerd it falls back to streaming 1 GiB from `head -c … /dev/urandom` and says so.
 * Two measurements:
 *  - in process: collectEvidence called from this benchmark (run under tsx, with the test lab
 *    helpers loaded), RSS sampled every 20 ms — how the library behaves inside a dev process;
 *  - shipped CLI: `node dist/cli/main.js collect …` (the built package, as responders run it)
 *    in a child process, its peak RSS (VmHWM) from GNU time. Needs `npm run build` first;
 *    skipped with a note when dist/ is missing.
 * BENCH_FULL_CHECK=1 uses the full self-check (re-reads and inflates the whole archive).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectOnce, requireBenchMachine, startBenchLab } from './evidence-support.js';
import { missingRequirements } from '../test/system/support/requirements.js';
import { startDockerd, type DockerLab } from '../test/system/support/dockerd-lab.js';

requireBenchMachine();
const GiB = 1024 * 1024 * 1024;
let dockerLab: DockerLab | undefined;
let argv = ['head', '-c', String(GiB), '/dev/urandom'];
let what = '1 GiB from /dev/urandom (no dockerd here)';
if (missingRequirements(['dockerd', 'docker', 'runc', 'busybox']).length === 0) {
  dockerLab = await startDockerd();
  dockerLab.docker(['run', '-d', '--network', 'none', '--name', 'big', dockerLab.image, 'sh', '-c', `head -c ${GiB} /dev/urandom > /big.bin && sleep 3600`]);
  for (let i = 0; i < 600; i++) {
    const size = dockerLab.docker(['exec', 'big', 'sh', '-c', 'wc -c < /big.bin 2>/dev/null || echo 0']).trim();
    if (Number(size) >= GiB) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  argv = ['docker', 'export', 'big'];
  what = 'docker export of a container holding 1 GiB of random data';
}
const lab = await startBenchLab(dockerLab ? { DOCKER_HOST: `unix://${dockerLab.socket}` } : undefined);
try {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  let atPeak = process.memoryUsage();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak) {
      peak = m.rss;
      atPeak = m;
    }
  }, 20);
  const archive = join(lab.dir, 'big.tar.gz');
  const selfCheck = process.env.BENCH_FULL_CHECK ? 'full' : 'quick';
  const r = await collectOnce(lab, argv, archive, { selfCheck });
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  rmSync(archive, { force: true });
  const mb = (n: number) => (n / 1e6).toFixed(0);
  console.log(`${what}: ${(r.bytes / GiB).toFixed(2)} GiB in ${r.seconds.toFixed(1)} s (${(r.bytes / 1048576 / r.seconds).toFixed(0)} MiB/s incl. seal + ${selfCheck} self-check)`);
  console.log(`in process (tsx): peak RSS ${mb(peak)} MB (at start ${mb(before)} MB); goal ≤ 150 MB: ${peak <= 150e6 ? 'MET' : 'NOT MET'}`);
  console.log(`  at peak: V8 heap ${mb(atPeak.heapTotal)} MB (used ${mb(atPeak.heapUsed)}), buffers ${mb(atPeak.arrayBuffers)} MB`);

  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  if (!existsSync(cli) || !existsSync('/usr/bin/time')) console.log('shipped CLI: skipped (run `npm run build` first; needs GNU time)');
  else {
    const collectors = join(lab.dir, 'collectors');
    mkdirSync(collectors, { recursive: true });
    writeFileSync(
      join(collectors, 'bench.yaml'),
      `id: bench\ndescription: bench\nartifacts:\n  - name: artifact.bin\n    argv: ${JSON.stringify(argv)}\n    timeoutSeconds: 3600\n    maxBytes: 68719476736\n`,
    );
    const out = join(lab.dir, 'cli.tar.gz');
    const t0 = process.hrtime.bigint();
    const run = spawnSync(
      '/usr/bin/time',
      ['-f', 'maxrss_kb=%M', process.execPath, cli, 'collect', '--host', `root@127.0.0.1:${lab.sshd.port}`, '--known-hosts', lab.knownHosts,
        '--identity', lab.client.privatePath, '--collectors-dir', collectors, '--out', out, '--json'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const kb = Number(/maxrss_kb=(\d+)/.exec(run.stderr)?.[1] ?? NaN);
    if (run.status !== 0 || !Number.isFinite(kb)) console.log(`shipped CLI: failed (exit ${run.status}): ${run.stderr.slice(-500)}`);
    else {
      const size = statSync(out).size;
      console.log(`shipped CLI (node dist/, quick self-check): ${seconds.toFixed(1)} s, archive ${(size / GiB).toFixed(2)} GiB; peak RSS ${(kb * 1024 / 1e6).toFixed(0)} MB; goal ≤ 150 MB: ${kb * 1024 <= 150e6 ? 'MET' : 'NOT MET'}`);
    }
    rmSync(out, { force: true });
  }
} finally {
  await lab.close();
  await dockerLab?.stop();
}
