/**
 * Collection throughput vs stock OpenSSH on the same file in the same run. Variants, run in
 * alternating (rotated) order for BENCH_EVIDENCE_REPS repetitions, median reported:
 *   ssh        `ssh host cat FILE > /dev/null`, stock client settings (the goal's baseline)
 *   ssh-gcm    the same with `-c aes128-gcm@openssh.com`, the cipher ssh2 negotiates, so the
 *              server pays the same encryption cost as for the collector (like for like)
 *   ssh2       the collector's SSH connector draining the channel into nothing: the ceiling
 *              of ssh2 in Node, without hashing, compression or archive writes
 *   collect    collectEvidence end to end (connect, stream, SHA-256, gzip members, tar,
 *              manifest, seal) with its default quick self-check of the sealed archive
 *   collect-full  the same with selfCheck 'full' (re-reads and inflates the whole archive)
 * Goal: collect ≥ 0.9× ssh. Two payloads: compressible text (logs, filesystem exports) and
 * incompressible random data. Every variant includes connecting. The file is read once before
 * timing, so every variant reads it from the page cache. sshd runs on the same (2-core)
 * machine, so its encryption competes with the collector for CPU.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { collectOnce, requireBenchMachine, startBenchLab, type BenchLab } from './evidence-support.js';
import { createSshConnector, loadKeyAuth } from '../src/evidence/ssh-connector.js';
import { parseKnownHosts } from '../src/evidence/host-keys.js';

requireBenchMachine();
const MiB = 1024 * 1024;
const sizeMiB = Number(process.env.BENCH_EVIDENCE_MIB ?? 256);
const reps = Number(process.env.BENCH_EVIDENCE_REPS ?? 5);
const only = process.env.BENCH_EVIDENCE_PAYLOAD; // text | random
const lab = await startBenchLab();

const sshCat = (file: string, extra: string[]) => () => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(
    'ssh',
    [...extra, '-i', lab.client.privatePath, '-p', String(lab.sshd.port), '-o', `UserKnownHostsFile=${lab.knownHosts}`, '-o', 'BatchMode=yes', 'root@127.0.0.1', 'cat', file],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (r.status !== 0) throw new Error(`ssh cat failed: ${r.stderr.toString()}`);
  return Promise.resolve(Number(process.hrtime.bigint() - t0) / 1e9);
};

async function ssh2Drain(l: BenchLab, file: string): Promise<number> {
  const auth = await loadKeyAuth(l.client.privatePath, async () => undefined);
  const connector = createSshConnector({ auth, hostKeys: { kind: 'known-hosts', entries: parseKnownHosts(readFileSync(l.knownHosts, 'utf8')), source: 'bench' } });
  const t0 = process.hrtime.bigint();
  const host = await connector.connect({ label: 'bench', address: '127.0.0.1', port: l.sshd.port, user: 'root' });
  const sink = new Writable({ highWaterMark: 256 * 1024, write: (_c, _e, cb) => cb() });
  const r = await host.run({ argv: ['cat', '--', file], timeoutMs: 3_600_000 }, sink);
  await host.close();
  if (r.exitCode !== 0) throw new Error(`ssh2 cat exited ${r.exitCode}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

try {
  const files = { text: join(lab.dir, 'text.log'), random: join(lab.dir, 'random.bin') };
  execFileSync('sh', ['-c', `seq 1 100000000 | sed 's/^/2026-01-01T00:00:00Z host sshd[4242]: event number /' | head -c ${sizeMiB * MiB} > '${files.text}'`]);
  execFileSync('sh', ['-c', `head -c ${sizeMiB * MiB} /dev/urandom > '${files.random}'`]);

  console.log(`payload ${sizeMiB} MiB per file; ${reps} alternating repetitions, median; default compression (level 1, incompressible blocks stored)`);
  for (const [kind, file] of Object.entries(files)) {
    if (only && only !== kind) continue;
    execFileSync('sh', ['-c', `cat '${file}' > /dev/null`]); // warm the page cache
    const archive = join(lab.dir, `out-${kind}.tar.gz`);
    let archiveBytes = 0;
    const collect = (selfCheck: 'quick' | 'full') => async () => {
      const r = await collectOnce(lab, ['cat', '--', file], archive, { selfCheck });
      archiveBytes = statSync(archive).size;
      return r.seconds;
    };
    const variants: [string, () => Promise<number>][] = [
      ['ssh', sshCat(file, [])],
      ['ssh-gcm', sshCat(file, ['-c', 'aes128-gcm@openssh.com'])],
      ['ssh2', () => ssh2Drain(lab, file)],
      ['collect', collect('quick')],
      ['collect-full', collect('full')],
    ];
    const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
    for (let i = 0; i < reps; i++)
      for (let j = 0; j < variants.length; j++) {
        const [name, run] = variants[(i + j) % variants.length] as [string, () => Promise<number>];
        times.get(name)?.push(await run());
      }
    rmSync(archive, { force: true });
    const med = new Map([...times].map(([n, t]) => [n, median(t)]));
    const rate = (n: string) => `${(sizeMiB / (med.get(n) as number)).toFixed(0)} MiB/s`;
    const ratio = (n: string, base: string) => ((med.get(base) as number) / (med.get(n) as number)).toFixed(2);
    const goal = (med.get('ssh') as number) / (med.get('collect') as number) >= 0.9 ? 'MET' : 'NOT MET';
    console.log(`${kind}: ssh ${rate('ssh')} | ssh-gcm ${rate('ssh-gcm')} | ssh2 drain ${rate('ssh2')} | collect ${rate('collect')} | collect-full ${rate('collect-full')}`);
    console.log(
      `  collect/ssh ${ratio('collect', 'ssh')}× (goal ≥ 0.90×: ${goal}); collect/ssh-gcm ${ratio('collect', 'ssh-gcm')}×; collect/ssh2 drain ${ratio('collect', 'ssh2')}×; collect-full/ssh ${ratio('collect-full', 'ssh')}×; archive ${(archiveBytes / MiB).toFixed(0)} MiB`,
    );
    console.log(`  raw seconds: ${[...times].map(([n, t]) => `${n} [${t.map((x) => x.toFixed(2)).join(' ')}]`).join('; ')}`);
  }
} finally {
  await lab.close();
}
