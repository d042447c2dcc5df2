/**
 * RemoteConnector over SSH (ssh2). Host keys are pinned (known_hosts or a SHA256 fingerprint),
 * the agent is never forwarded, and command output streams straight off the channel with
 * backpressure: node-ssh's exec helpers buffer whole outputs as strings, which is slow and
 * corrupts binary data, so we use the ssh2 channel directly.
 */
import type { Writable } from 'node:stream';
import ssh2, { type Client as SshClient, type ClientChannel, type ConnectConfig } from 'ssh2';
import { checkHostKey, pinnedKeyAlgorithms, type HostKeyDecision, type HostKeyPin } from './host-keys.js';
import { HostKeyRejectedError, SshConnectError } from './evidence-errors.js';
import { commandLineFromArgv } from './shell-quote.js';
import {
  formatSshEndpoint,
  STDERR_EXCERPT_BYTES,
  type CommandResult,
  type HostIdentity,
  type HostTarget,
  type RemoteCommand,
  type RemoteConnector,
  type RemoteHost,
} from './remote-command.js';
import { readPrivateKeyFile } from './private-key-file.js';

// ssh2 is CommonJS: take its members from the default export (named ESM imports fail under Node).
const { Client } = ssh2;
type Client = SshClient;

export type SshAuth =
  | { kind: 'key'; privateKey: Buffer; passphrase?: string | undefined }
  | { kind: 'agent'; socketPath: string };

export interface SshConnectorOptions {
  auth: SshAuth;
  /** Pins every host key: the target's and, for a target with a `jump`, the jump host's. */
  hostKeys: HostKeyPin;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
}

/** Load a private key file, asking for a passphrase only when the key is encrypted. */
export async function loadKeyAuth(
  path: string,
  getPassphrase: () => Promise<string | undefined>,
): Promise<SshAuth> {
  const { data, passphrase } = await readPrivateKeyFile(path, getPassphrase, {
    what: 'SSH key',
    readHint: 'Pass --identity with a readable private key file, or use ssh-agent (SSH_AUTH_SOCK).',
    passphraseHint: 'Set TAILNET_IR_SSH_PASSPHRASE, run on a terminal to be prompted, or load the key into ssh-agent.',
    parseHint: 'Check the passphrase, or pass an OpenSSH/PEM private key.',
  });
  return { kind: 'key', privateKey: data, passphrase };
}

function describeConnectError(where: string, err: Error & { code?: string; level?: string }, isJump = false): SshConnectError {
  const code = err.code ? ` (${err.code})` : '';
  const auth = err.level === 'client-authentication';
  return new SshConnectError(`SSH to ${where} failed: ${err.message}${code}. Nothing was collected from this host.`, {
    cause: err,
    hint: auth
      ? `The ${isJump ? 'jump host' : 'server'} refused the key: check --identity / ssh-agent and the user name.`
      : isJump
        ? 'Check the jump host (ssh.jump, ssh.devices.<key>.jump or --jump): its address, port and that it is reachable from here.'
        : 'Check the address, port and that the node is reachable (quarantine must keep responder SSH open); retry with a longer connect timeout if the link is slow.',
  });
}

/**
 * One connector serves every route: each target says whether to go through a jump host
 * (ProxyJump, `target.jump`) or directly.
 */
export function createSshConnector(options: SshConnectorOptions): RemoteConnector {
  return {
    async connect(target: HostTarget, signal?: AbortSignal): Promise<RemoteHost> {
      const jump = target.jump ? { address: target.jump.address, port: target.jump.port, user: target.jump.user } : undefined;
      let jumpClient: Client | undefined;
      let jumpIdentity: HostIdentity['jump'];
      if (jump) {
        const j = await openClient(options, jump, `jump host ${formatSshEndpoint(jump)} (on the way to ${formatSshEndpoint(target)})`, undefined, signal, true);
        jumpClient = j.client;
        jumpIdentity = { ...jump, hostKeyFingerprint: j.decision.fingerprint };
      }
      try {
        const sock = jumpClient && jump ? await forwardThrough(jumpClient, formatSshEndpoint(jump), target) : undefined;
        const label = `${formatSshEndpoint(target)}${jump ? ` via jump host ${formatSshEndpoint(jump)}` : ''}`;
        const { client, decision } = await openClient(options, target, label, sock, signal);
        const identity: HostIdentity = {
          address: target.address,
          port: target.port,
          user: target.user,
          hostKeyFingerprint: decision.fingerprint,
          hostKeyType: decision.keyType,
          jump: jumpIdentity,
        };
        return new SshRemoteHost(client, identity, jumpClient);
      } catch (err) {
        jumpClient?.end();
        throw err;
      }
    },
  };
}

function forwardThrough(jump: Client, jumpLabel: string, target: HostTarget): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => {
      if (err)
        reject(
          new SshConnectError(`Jump host ${jumpLabel} could not open a tunnel to ${target.address}:${target.port}: ${err.message}.`, {
            hint: 'Check that the jump host can reach the target and allows TCP forwarding.',
          }),
        );
      else resolve(stream);
    });
  });
}

function openClient(
  options: SshConnectorOptions,
  where: { address: string; port: number; user: string },
  /** How messages name this hop, e.g. `root@10.0.0.5:22 via jump host ops@bastion:22`. */
  label: string,
  sock: ClientChannel | undefined,
  signal?: AbortSignal,
  isJump = false,
): Promise<{ client: Client; decision: HostKeyDecision & { ok: true } }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let decision: HostKeyDecision | undefined;
    const onAbort = () => {
      client.end();
      reject(new SshConnectError(`SSH to ${label} was cancelled.`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const algos = pinnedKeyAlgorithms(options.hostKeys, where.address, where.port);
    const config: ConnectConfig = {
      host: where.address,
      port: where.port,
      username: where.user,
      readyTimeout: options.connectTimeoutMs ?? 15_000,
      keepaliveInterval: options.keepaliveIntervalMs ?? 5_000,
      keepaliveCountMax: options.keepaliveCountMax ?? 3,
      agentForward: false,
      hostVerifier: (key: Buffer) => {
        decision = checkHostKey(options.hostKeys, where.address, where.port, key);
        return decision.ok;
      },
      ...(algos ? { algorithms: { serverHostKey: algos as never } } : {}),
      ...(sock ? { sock } : {}),
      ...(options.auth.kind === 'key'
        ? { privateKey: options.auth.privateKey, passphrase: options.auth.passphrase }
        : { agent: options.auth.socketPath }),
    };
    client.once('ready', () => {
      signal?.removeEventListener('abort', onAbort);
      if (!decision?.ok) {
        client.end();
        reject(new SshConnectError(`SSH to ${label}: host key was not checked; refusing.`));
        return;
      }
      resolve({ client, decision });
    });
    // `on`, not `once`: a dropped connection can emit several errors (reset, then "lost before
    // handshake"), and an error event without a listener would crash the process. Only the first
    // one settles the promise.
    client.on('error', (err: Error & { code?: string; level?: string }) => {
      signal?.removeEventListener('abort', onAbort);
      if (decision && !decision.ok) {
        reject(new HostKeyRejectedError(label, decision.reason, `${decision.keyType} ${decision.fingerprint}`, decision.expected));
      } else reject(describeConnectError(label, err, isJump));
    });
    client.connect(config);
  });
}

class SshRemoteHost implements RemoteHost {
  private lost = false;
  private closed = false;

  constructor(
    private readonly client: Client,
    readonly identity: HostIdentity,
    private readonly jumpClient: Client | undefined,
  ) {
    const markLost = () => {
      if (!this.closed) this.lost = true;
    };
    client.on('error', markLost);
    client.on('close', markLost);
  }

  get connected(): boolean {
    return !this.lost && !this.closed;
  }

  run(command: RemoteCommand, stdout: Writable): Promise<CommandResult> {
    const result: CommandResult = {
      exitCode: null,
      signal: null,
      stdoutBytes: 0,
      stderrExcerpt: '',
      timedOut: false,
      aborted: false,
      truncated: false,
      connectionLost: false,
    };
    if (!this.connected) return Promise.resolve({ ...result, connectionLost: true });
    const line = commandLineFromArgv(command.argv);
    return new Promise((resolve) => {
      let channel: ClientChannel | undefined;
      let settled = false;
      let stderrBytes = 0;
      const stderrChunks: Buffer[] = [];
      const timers: { wall?: NodeJS.Timeout; idle?: NodeJS.Timeout } = {};

      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timers.wall);
        clearTimeout(timers.idle);
        command.signal?.removeEventListener('abort', onAbort);
        stdout.removeListener('error', onSinkError);
        result.stderrExcerpt = Buffer.concat(stderrChunks).toString('utf8');
        if (result.exitCode === null && result.signal === null && !result.timedOut && !result.aborted && !result.truncated)
          result.connectionLost = this.lost;
        if (this.lost && result.exitCode === null) result.connectionLost = true;
        // A hostile server may keep sending after we gave up on the command: stop listening and
        // drop the channel, so nothing is written into a sink the caller has already closed.
        if (channel) {
          channel.removeAllListeners('data');
          channel.stderr.removeAllListeners('data');
          channel.on('data', () => undefined);
          channel.stderr.on('data', () => undefined);
          channel.on('error', () => undefined);
          channel.destroy();
        }
        resolve(result);
      };
      const stop = () => {
        if (!channel) return;
        // Ask the remote side to kill the command, then close our end regardless.
        try {
          channel.signal('KILL');
        } catch {
          /* not every server honours signal requests */
        }
        channel.close();
        // sshd only reports close once the remote process exits; do not wait for a process
        // that ignores the hang-up (e.g. a sleeping command): settle shortly after asking.
        setTimeout(finish, 1_000).unref();
      };
      const onAbort = () => {
        result.aborted = true;
        stop();
        if (!channel) finish();
      };
      const onSinkError = () => stop();
      const armIdle = () => {
        if (!command.idleTimeoutMs) return;
        clearTimeout(timers.idle);
        timers.idle = setTimeout(() => {
          result.timedOut = true;
          stop();
        }, command.idleTimeoutMs);
      };

      if (command.signal?.aborted) {
        result.aborted = true;
        finish();
        return;
      }
      command.signal?.addEventListener('abort', onAbort, { once: true });
      stdout.on('error', onSinkError);
      timers.wall = setTimeout(() => {
        result.timedOut = true;
        stop();
        if (!channel) finish();
      }, command.timeoutMs);
      armIdle();

      const onLost = () => finish();
      this.client.once('close', onLost);

      this.client.exec(line, (err, ch) => {
        if (err) {
          this.client.removeListener('close', onLost);
          result.stderrExcerpt = err.message;
          if (!settled) {
            settled = true;
            clearTimeout(timers.wall);
            clearTimeout(timers.idle);
            command.signal?.removeEventListener('abort', onAbort);
            stdout.removeListener('error', onSinkError);
            resolve({ ...result, stderrExcerpt: `could not start command: ${err.message}`, connectionLost: this.lost });
          }
          return;
        }
        channel = ch;
        if (settled || result.timedOut || result.aborted) stop();
        if (command.stdin !== undefined) ch.end(command.stdin);
        ch.on('data', (chunk: Buffer) => {
          if (settled) return;
          armIdle();
          if (result.truncated) return;
          let piece = chunk;
          if (command.maxBytes !== undefined && result.stdoutBytes + piece.length > command.maxBytes) {
            piece = piece.subarray(0, command.maxBytes - result.stdoutBytes);
            result.truncated = true;
          }
          result.stdoutBytes += piece.length;
          if (piece.length > 0 && !stdout.write(piece)) {
            ch.pause();
            stdout.once('drain', () => ch.resume());
          }
          if (result.truncated) stop();
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          if (settled) return;
          armIdle();
          if (stderrBytes >= STDERR_EXCERPT_BYTES) return;
          const take = chunk.subarray(0, STDERR_EXCERPT_BYTES - stderrBytes);
          stderrBytes += take.length;
          stderrChunks.push(take);
        });
        ch.on('exit', (code: number | null, signalName?: string) => {
          if (typeof code === 'number') result.exitCode = code;
          else if (signalName) result.signal = signalName;
        });
        ch.on('close', () => {
          this.client.removeListener('close', onLost);
          // A close without an exit status on a dead connection means we lost the link.
          setImmediate(finish);
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2_000);
      this.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.client.end();
    });
    this.jumpClient?.end();
  }
}
