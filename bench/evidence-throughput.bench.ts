/**
 * Collection throughput vs stock OpenSSH on the same file in the same run:
 *   baseline  `ssh host cat FILE > /dev/null`
 *   collect   collectEvidence end to end: connect, stream off the SSH channel, SHA-256, gzip
 *             members, tar, manifest, and the self-verification re-read of the sealed archive
 *   stream    the same without the self-verification pass
 * Goal: collect ≥ 0.9× the baseline's throughput. Two payloads: compressible text (logs,
 * ordinary filesystem exports) and incompressible random data. Note: sshd runs on the same
 * 2-core machine, so server-side encryption competes with the collector for CPU.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { collectOnce, requireBenchMachine, startBenchLab } from './evidence-support.js';

requireBenchMachine();
const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_EVIDENCE_MIB ?? 256);
const runs = 3;
const lab = await startBenchLab();
try {
  const files = { text: join(lab.dir, 'text.log'), random: join(lab.dir, 'random.bin') };
  execFileSync('sh', ['-c', `seq 1 100000000 | sed 's/^/2026-01-01T00:00:00Z host sshd[4242]: event number /' | head -c ${sizeMiB * MiB} > '${files.text}'`]);
  execFileSync('sh', ['-c', `head -c ${sizeMiB * MiB} /dev/urandom > '${files.random}'`]);

  const sshCat = (file: string) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(
      'ssh',
      ['-i', lab.client.privatePath, '-p', String(lab.sshd.port), '-o', `UserKnownHostsFile=${lab.knownHosts}`, '-o', 'BatchMode=yes', 'root@127.0.0.1', 'cat', file],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (r.status !== 0) throw new Error(`ssh cat failed: ${r.stderr.toString()}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const best = async (fn: () => Promise<number> | number) => {
    let b = Infinity;
    for (let i = 0; i < runs; i++) b = Math.min(b, await fn());
    return b;
  };

  console.log(`payload ${sizeMiB} MiB per file; best of ${runs} runs; default compression (level 1, incompressible blocks stored)`);
  for (const [kind, file] of Object.entries(files)) {
    // Interleave baseline and ours so machine noise hits both alike.
    const base = await best(() => sshCat(file));
    const archive = join(lab.dir, `out-${kind}.tar.gz`);
    const full = await best(async () => (await collectOnce(lab, ['cat', '--', file], archive)).seconds);
    const stream = await best(async () => (await collectOnce(lab, ['cat', '--', file], archive, { verifyAfterSeal: false })).seconds);
    rmSync(archive, { force: true });
    const rate = (s: number) => `${(sizeMiB / s).toFixed(0)} MiB/s`;
    console.log(
      `${kind.padEnd(6)} ssh cat ${rate(base)} | collect ${rate(full)} ratio ${(base / full).toFixed(2)}× (goal ≥ 0.90×: ${base / full >= 0.9 ? 'MET' : 'NOT MET'}) | without self-verify ${rate(stream)} ratio ${(base / stream).toFixed(2)}×`,
    );
  }
} finally {
  await lab.close();
}
