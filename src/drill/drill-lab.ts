import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { configSchema, type Config } from '../core/config.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { closestDeviceNames } from '../tailnet/policy/index.js';
import { compromisedLinuxHost } from './sim-host/host-profile.js';
import { startSimSshHost, type RunningSimSshHost } from './sim-host/sim-ssh-host.js';
import { policyEngineChecker } from './sim/policy-checker.js';
import type { Scenario } from './sim/scenario.js';
import { startSimServer, type RunningSim } from './sim/sim-server.js';
import { SimHttpError } from './sim/sim-tailnet.js';
import { DRILL_NAMESPACE } from '../evidence/sshsig.js';
import { generateEd25519KeyPair } from '../evidence/ed25519-keypair.js';

export const drillSigner = 'drill@tailnet-ir';

export interface DrillLabOptions {
  scenario: Scenario;
  /** Directory for the drill's keys, known_hosts and runs (created if missing). */
  dir: string;
  /** Device (hostname or node id) the drill is about; default the scenario's drill.target. */
  target?: string;
  /** The drill's clock, shared with the simulated tailnet (default: wall time). */
  clock?: Clock;
}

export interface DrillLab {
  sim: RunningSim;
  /** The target's simulated host; when the node is deleted it is "rebuilt" (same address, new host key). */
  readonly targetHost: RunningSimSshHost;
  targetHostname: string;
  dir: string;
  /** Responder SSH key (OpenSSH private key, 0600) and the pinned known_hosts file. */
  identityFile: string;
  knownHostsFile: string;
  /** Evidence signing key for the drill (signatures use the drill namespace). */
  signingKeyFile: string;
  /** OpenSSH allowed_signers naming the drill key, for `ssh-keygen -Y verify -I drill@tailnet-ir`. */
  allowedSignersFile: string;
  /** Configuration for the run: SSH reaches the simulated host out of band. */
  config: Config;
  /** Auth keys the rebuilt host enrolled with: the scorecard checks none leaked into a file. */
  enrolledKeys: string[];
  /** Environment for a Tailscale API client pointed at the simulator. */
  apiEnv: { TAILSCALE_BASE_URL: string; TAILSCALE_API_KEY: string; TAILSCALE_TAILNET: string };
  close(): Promise<void>;
}

/**
 * Everything a drill runs against, started in-process: the simulated tailnet (real HTTP on
 * loopback) and a simulated SSH host for the target (real SSH on loopback), with fresh keys.
 */
export async function startDrillLab(options: DrillLabOptions): Promise<DrillLab> {
  const targetName = options.target ?? options.scenario.drill?.target;
  if (!targetName) throw new UsageError('the scenario names no drill target (drill.target) and none was given', { hint: 'pass --target DEVICE' });
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const now = options.clock ? () => options.clock!.now() : () => new Date();
  const sim = await startSimServer({ scenario: options.scenario, checker: policyEngineChecker, now });
  try {
    const device = sim.tailnet.listDevices(true).find((d) => d.hostname === targetName || d.nodeId === targetName || d.name === targetName);
    if (!device)
      throw new NotFoundError(`device of scenario ${options.scenario.name}`, targetName, { suggestions: closestDeviceNames(sim.tailnet.listDevices(false), targetName) });
    const clientKey = generateEd25519KeyPair({ comment: 'tailnet-ir drill responder' });
    const signingKey = generateEd25519KeyPair({ comment: 'tailnet-ir drill evidence' });
    const peers = sim.tailnet
      .listDevices(false)
      .filter((d) => d.nodeId !== device.nodeId)
      .map((d) => d.addresses[0]!)
      .slice(0, 4);
    const enrolledKeys: string[] = [];
    const profile = compromisedLinuxHost({
        device,
        peers,
        now: now(),
        enroll: async (authKey, hostname) => {
          enrolledKeys.push(authKey);
          try {
            sim.tailnet.enroll({ authKey, hostname });
            return { ok: true, message: '' };
          } catch (err) {
            return { ok: false, message: err instanceof SimHttpError ? err.body.message : String(err) };
          }
        },
      });
    // A user's laptop has no management address: it is reached over the tailnet, and the path is
    // gone once its owner is suspended (the playbook must collect first). A tagged server is
    // reached out of band.
    const overTailnet = !(device.tags ?? []).length;
    const reachable = overTailnet
      ? () => {
          const live = sim.tailnet.listDevices(true).some((d) => d.nodeId === device.nodeId);
          const owner = sim.tailnet.listUsers('all').find((u) => u.loginName === device.user);
          return !(live && owner?.status === 'suspended');
        }
      : undefined;
    let targetHost = await startSimSshHost({ profile, authorizedKeys: [clientKey.public], ...(reachable ? { reachable } : {}) });
    // The rebuilt machine has a new SSH host key. Like a responder preparing the rebuild image,
    // the lab pins it ahead of time; the host switches to it when the node is deleted, so
    // re-enrolment reaches a host that is provably not the compromised one.
    const rebuiltHostKey = generateEd25519KeyPair();
    let rebuilding: Promise<void> = Promise.resolve();
    sim.tailnet.onMutation((e) => {
      if (e.action !== 'DELETE' || e.target.type !== 'NODE' || e.target.id !== device.nodeId) return;
      rebuilding = rebuilding.then(async () => {
        const port = targetHost.port;
        await targetHost.close();
        targetHost = await startSimSshHost({ profile, authorizedKeys: [clientKey.public], hostKey: rebuiltHostKey, port });
      });
    });
    const identityFile = join(options.dir, 'responder_ed25519');
    const knownHostsFile = join(options.dir, 'known_hosts');
    const signingKeyFile = join(options.dir, 'evidence_signing_ed25519');
    await writeFile(identityFile, clientKey.private, { mode: 0o600 });
    await writeFile(`${identityFile}.pub`, `${clientKey.public}\n`);
    await writeFile(signingKeyFile, signingKey.private, { mode: 0o600 });
    await writeFile(`${signingKeyFile}.pub`, `${signingKey.public}\n`);
    await chmod(identityFile, 0o600);
    const rebuiltLine = `[${targetHost.host}]:${targetHost.port} ${rebuiltHostKey.public.split(' ').slice(0, 2).join(' ')}`;
    await writeFile(knownHostsFile, `${targetHost.knownHostsLine}\n${rebuiltLine}\n`);
    const allowedSignersFile = join(options.dir, 'allowed_signers');
    await writeFile(allowedSignersFile, `${drillSigner} namespaces="${DRILL_NAMESPACE}" ${signingKey.public}\n`);
    const config = configSchema.parse({
      responders: ['group:incident-response'],
      highRiskResources: [],
      ssh: {
        user: 'root',
        identityFile,
        knownHosts: knownHostsFile,
        devices: { [device.hostname]: { address: targetHost.host, port: targetHost.port, path: overTailnet ? 'tailnet' : 'out-of-band' } },
      },
      evidence: { signingKey: signingKeyFile, signerIdentity: drillSigner },
      approvals: { default: 'auto' },
    });
    return {
      sim,
      get targetHost() {
        return targetHost;
      },
      targetHostname: device.hostname,
      dir: options.dir,
      identityFile,
      knownHostsFile,
      signingKeyFile,
      allowedSignersFile,
      config,
      enrolledKeys,
      apiEnv: { TAILSCALE_BASE_URL: sim.url, TAILSCALE_API_KEY: sim.token, TAILSCALE_TAILNET: '-' },
      close: async () => {
        await rebuilding.catch(() => undefined);
        await targetHost.close();
        await sim.close();
      },
    };
  } catch (err) {
    await sim.close();
    throw err;
  }
}
