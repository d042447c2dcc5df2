import type { Clock } from '../../../../src/core/clock.js';
import type { JsonValue } from '../../../../src/core/json.js';
import type { ArtifactStore, EvidenceCollector, HostEnroller, PolicyCheckResult, RebuildDescription, PolicyPlanner, Ports, ProgressEvent } from '../../../../src/engine/ports.js';
import type { FakeTailnet } from './fake-tailnet.js';

const marker = (nodeId: string) => `// quarantine ${nodeId}`;

/** A policy planner that marks the quarantine with a comment line; release removes exactly it. */
export class FakePolicyPlanner implements PolicyPlanner {
  responderAccess: PolicyCheckResult = { ok: true, failures: [] };
  localCheck: PolicyCheckResult = { ok: true, failures: [] };
  calls: string[] = [];

  async planQuarantine(r: Parameters<PolicyPlanner['planQuarantine']>[0]) {
    this.calls.push('planQuarantine');
    const line = marker(r.device.nodeId);
    const newText = r.policyText.includes(line) ? r.policyText : `${r.policyText}\n${line}`;
    return { newText, diff: `+${line}`, summary: [`quarantine ${r.device.name}`], addedTests: [], releaseRecord: { nodeId: r.device.nodeId } as JsonValue };
  }
  async planRelease(r: Parameters<PolicyPlanner['planRelease']>[0]) {
    this.calls.push('planRelease');
    const nodeId = (r.releaseRecord as { nodeId: string }).nodeId;
    const newText = r.policyText.split('\n').filter((l) => l !== marker(nodeId)).join('\n');
    return { newText, diff: `-${marker(nodeId)}`, summary: [`release ${nodeId}`], addedTests: [], releaseRecord: null };
  }
  async checkPolicy() {
    this.calls.push('checkPolicy');
    return this.localCheck;
  }
  async checkResponderAccess() {
    this.calls.push('checkResponderAccess');
    return this.responderAccess;
  }
}

export class FakeEvidence implements EvidenceCollector {
  collected = 0;
  verifies = true;
  routePath: 'tailnet' | 'out-of-band' = 'tailnet';
  failCollect?: Error;
  async routeFor(device: Parameters<EvidenceCollector['routeFor']>[0]) {
    return { address: device.addresses[0] ?? 'none', path: this.routePath };
  }
  async collect(r: Parameters<EvidenceCollector['collect']>[0]) {
    if (this.failCollect) {
      const e = this.failCollect;
      this.failCollect = undefined;
      throw e;
    }
    this.collected++;
    return { archivePath: `/evidence/${r.runId}.tar`, artifacts: 3, bytes: 1024, failures: [] };
  }
  sealedExtras: string[][] = [];
  async seal(r: Parameters<EvidenceCollector['seal']>[0]) {
    this.sealedExtras.push(r.extraFiles.map((f) => f.name));
    return { archivePath: r.archivePath, signaturePath: `${r.archivePath}.sig`, sha256: 'ab'.repeat(32) };
  }
  async verify() {
    return { ok: this.verifies, detail: this.verifies ? 'Good signature' : 'bad signature' };
  }
}

/** Re-enrols by handing the key to the fake tailnet, as tailscaled would. Remembers no secret. */
export class FakeEnroller implements HostEnroller {
  enrolments = 0;
  sawSecretShape: boolean[] = [];
  constructor(private readonly tailnet: FakeTailnet) {}
  async describe(): Promise<RebuildDescription> {
    return { method: 'ssh', summary: ['fake hand-over'], warnings: [] };
  }
  async enrol(r: Parameters<HostEnroller['enrol']>[0]) {
    this.enrolments++;
    this.sawSecretShape.push(r.authKey.startsWith('fake-secret-'));
    this.tailnet.enrolWithKey(r.authKey, r.oldDevice.hostname);
    return { method: 'fake', detail: `re-enrolled ${r.oldDevice.hostname}` };
  }
}

export function memoryArtifacts(): ArtifactStore & { files: Map<string, string> } {
  const files = new Map<string, string>();
  return {
    files,
    write: async (name, content) => {
      files.set(name, typeof content === 'string' ? content : Buffer.from(content).toString());
      return `/mem/${name}`;
    },
    read: async (name) => files.get(name),
    pathOf: async (name) => (files.has(name) ? `/mem/${name}` : undefined),
    journalPath: () => '/mem/journal.jsonl',
  };
}

export interface FakeWorld {
  tailnet: FakeTailnet;
  policy: FakePolicyPlanner;
  evidence: FakeEvidence;
  enroller: FakeEnroller;
  events: ProgressEvent[];
  ports: Omit<Ports, 'artifacts'>;
}

export function fakeWorld(tailnet: FakeTailnet, clock: Clock): FakeWorld {
  const policy = new FakePolicyPlanner();
  const evidence = new FakeEvidence();
  const enroller = new FakeEnroller(tailnet);
  const events: ProgressEvent[] = [];
  return { tailnet, policy, evidence, enroller, events, ports: { tailnet, policy, evidence, enroller, clock, progress: (e) => events.push(e) } };
}
