/**
 * Builds what the engine needs from configuration: the policy planner, the SSH evidence
 * collector and host enroller, the run store. SSH keys and the signing key are loaded only
 * when first used, so `plan` never asks for a passphrase and a drill needs no ssh-agent.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../core/clock.js';
import type { Config, SecretRef } from '../core/config.js';
import { CredentialsError, UsageError } from '../core/errors.js';
import { createDefaultRegistry } from '../engine/activities/index.js';
import type { ActivityRegistry } from '../engine/activity.js';
import type { Approver, Ports, ProgressSink } from '../engine/ports.js';
import type { EngineDeps } from '../engine/run-engine.js';
import { RunStore } from '../engine/run-store.js';
import { bundledCollectorsDir, loadCollectors, type CollectorDefinition } from '../evidence/collector-schema.js';
import { createEvidenceCollector, readCollectedHostKeys } from '../evidence/evidence-collector-adapter.js';
import type { HostTarget, RemoteConnector, RemoteHost } from '../evidence/remote-command.js';
import { createSshConnector } from '../evidence/ssh-connector.js';
import { createSshHostEnroller } from '../evidence/ssh-host-enroller.js';
import { createManualEnroller, type RevealOnce } from '../rebuild/manual-enroller.js';
import { createRebuildEnroller } from '../rebuild/rebuild-enroller.js';
import { createSidecarEnroller } from '../rebuild/sidecar-enroller.js';
import { loadHostKeyPin, loadSshAuth, resolveSshRoute } from '../evidence/ssh-setup.js';
import { signerFromAgent, signerFromKeyFile } from '../evidence/signing-keys.js';
import { DRILL_NAMESPACE, EVIDENCE_NAMESPACE, type Ed25519Signer } from '../evidence/sshsig.js';
import { createPolicyPlanner } from '../tailnet/policy-planner-adapter.js';
import type { TailnetApi } from '../tailnet/tailnet-api.js';
import { readSecret } from './config-file.js';

export interface WiringOptions {
  config: Config;
  tailnet: TailnetApi;
  clock: Clock;
  stateHome: string;
  operator: string;
  approver: Approver;
  progress: ProgressSink;
  /** Drill evidence is signed in its own namespace so it never verifies as real evidence. */
  drill?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Shows a manual rebuild's key once on the operator's terminal; absent when there is none. */
  reveal?: RevealOnce;
}

export async function buildEngineDeps(o: WiringOptions): Promise<EngineDeps & { registry: ActivityRegistry; ports: Omit<Ports, 'artifacts'> }> {
  const env = o.env ?? process.env;
  const store = new RunStore(o.stateHome, o.clock);
  const connector = lazyConnector(() => createConnector(o.config, env));
  const collectors = await selectCollectors(o.config.collection.collectors);
  let signer: Promise<Ed25519Signer> | undefined;
  const namespace = o.drill ? DRILL_NAMESPACE : EVIDENCE_NAMESPACE;
  const ports: Omit<Ports, 'artifacts'> = {
    tailnet: o.tailnet,
    policy: createPolicyPlanner({ isolateInbound: o.config.quarantine.isolateInbound }),
    evidence: createEvidenceCollector({
      ssh: o.config.ssh,
      connector,
      collectors,
      runDir: (id) => store.runDir(id),
      signer: () => (signer ??= loadSigner(o.config, env)),
      namespace,
      operator: o.operator,
      now: () => o.clock.now(),
    }),
    enroller: createRebuildEnroller({
      config: o.config.rebuild,
      ssh: createSshHostEnroller({
        connector,
        routeFor: (d) => resolveSshRoute(d, o.config.ssh),
        compromisedHostKeys: (runId) => readCollectedHostKeys(store.runDir(runId)),
        timeoutMs: o.config.ssh.commandTimeout,
      }),
      manual: createManualEnroller({ reveal: o.reveal }),
      sidecar: (settings) =>
        createSidecarEnroller({
          connector,
          routeFor: (d) => resolveSshRoute(d, o.config.ssh),
          settings,
        }),
    }),
    clock: o.clock,
    progress: o.progress,
  };
  return { store, registry: createDefaultRegistry(), ports, approver: o.approver };
}

/** Engine inputs for a response from the configuration. */
export function responseInputs(config: Config, target: string, overrides: { rebuildTags?: string[]; rebuildMethod?: string } = {}): Record<string, unknown> {
  return {
    target,
    responders: config.responders,
    high_risk_resources: config.highRiskResources,
    rebuild_tags: overrides.rebuildTags ?? config.rebuild.tags,
    rebuild_method: overrides.rebuildMethod ?? 'config',
  };
}

async function selectCollectors(wanted: string[]): Promise<CollectorDefinition[]> {
  const all = await loadCollectors(fileURLToPath(bundledCollectorsDir));
  const unknown = wanted.filter((w) => !all.has(w));
  if (unknown.length) throw new UsageError(`collection.collectors names unknown collector(s): ${unknown.join(', ')}`, { hint: `available: ${[...all.keys()].join(', ')}` });
  return wanted.map((w) => all.get(w)!);
}

async function createConnector(config: Config, env: NodeJS.ProcessEnv): Promise<RemoteConnector> {
  const knownHosts = config.ssh.knownHosts ?? join(env.HOME || homedir(), '.ssh', 'known_hosts');
  const pin = await loadHostKeyPin({ knownHosts });
  const auth = await loadSshAuth(config.ssh.identityFile, {
    useAgent: config.ssh.agent || !config.ssh.identityFile,
    passphrase: () => secretOrEnv(config.ssh.identityPassphrase, 'TAILNET_IR_SSH_PASSPHRASE', 'SSH key passphrase', env),
    env,
  });
  return createSshConnector({
    auth,
    hostKeys: pin,
    connectTimeoutMs: config.ssh.connectTimeout,
  });
}

async function loadSigner(config: Config, env: NodeJS.ProcessEnv): Promise<Ed25519Signer> {
  if (config.evidence.signingKey)
    return signerFromKeyFile(config.evidence.signingKey, () => secretOrEnv(config.evidence.signingKeyPassphrase, 'TAILNET_IR_SIGN_PASSPHRASE', 'signing key passphrase', env));
  if (config.evidence.useAgent && env.SSH_AUTH_SOCK) return signerFromAgent(env.SSH_AUTH_SOCK);
  throw new CredentialsError('no evidence signing key: set evidence.signingKey in tailnet-ir.yaml (or evidence.useAgent with ssh-agent)', {
    hint: 'Create one with `tailnet-ir keygen --out ~/.config/tailnet-ir/signing_key`. The collected archive is kept; resume after configuring a key.',
  });
}

async function secretOrEnv(ref: SecretRef | undefined, envName: string, what: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (ref) return readSecret(ref, what, env);
  return env[envName] || undefined;
}

/** A connector that is built on first use (keys are loaded then, not at start-up). */
function lazyConnector(factory: () => Promise<RemoteConnector>): RemoteConnector {
  let connector: Promise<RemoteConnector> | undefined;
  return {
    async connect(target: HostTarget, signal?: AbortSignal): Promise<RemoteHost> {
      connector ??= factory();
      return (await connector).connect(target, signal);
    },
  };
}
