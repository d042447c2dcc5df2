/**
 * Peak resident memory while collecting a 1 GiB container export (`docker export` of a
 * container holding 1 GiB of random data, through a real dockerd and sshd). Goal: ≤ 150 MB.
 * Without dockerd it falls back to streaming 1 GiB from `head -c … /dev/urandom` and says so.
 * BENCH_NO_VERIFY=1 leaves out the self-verification pass, to see the collection phase alone.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
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
  const r = await collectOnce(lab, argv, archive, { selfCheck: process.env.BENCH_FULL_CHECK ? 'full' : 'quick' });
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  rmSync(archive, { force: true });
  const mb = (n: number) => (n / 1e6).toFixed(0);
  console.log(`${what}: ${(r.bytes / GiB).toFixed(2)} GiB in ${r.seconds.toFixed(1)} s (${(r.bytes / 1048576 / r.seconds).toFixed(0)} MiB/s incl. seal + self-verify)`);
  console.log(`peak RSS ${mb(peak)} MB (at start ${mb(before)} MB); goal ≤ 150 MB: ${peak <= 150e6 ? 'MET' : 'NOT MET'}`);
  console.log(`at peak: V8 heap ${mb(atPeak.heapTotal)} MB (used ${mb(atPeak.heapUsed)}), buffers ${mb(atPeak.arrayBuffers)} MB`);
} finally {
  await lab.close();
  await dockerLab?.stop();
}
