import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import { generateEd25519KeyPair } from '../../evidence/ed25519-keypair.js';
import { splitCommandLine } from './command-line.js';
import { answerLookup, type CommandAnswer, type HostProfile } from './host-profile.js';

const { Server, utils } = ssh2;

export interface SimSshHostOptions {
  profile: HostProfile;
  /** The host key (OpenSSH private + public); default a fresh ed25519 pair. */
  hostKey?: { private: string; public: string };
  /** OpenSSH public key lines allowed to log in (authorized_keys). */
  authorizedKeys: string[];
  /** Loopback only. */
  host?: string;
  port?: number;
  /**
   * False while the network path to the host is gone (in a drill: the tailnet path, once the
   * device's owner is suspended): new connections are dropped before the SSH handshake.
   */
  reachable?: () => boolean;
}

export interface RunningSimSshHost {
  host: string;
  port: number;
  /** `[127.0.0.1]:PORT ssh-ed25519 AAAA…` for a known_hosts file. */
  knownHostsLine: string;
  /** OpenSSH fingerprint of the host key, `SHA256:…`. */
  fingerprint: string;
  /** Every command line received, in order (what the drill's scorecard and tests inspect). */
  commandLog: string[];
  close(): Promise<void>;
}

/**
 * A simulated host for drills: a real SSH server (ssh2) on loopback with its own ed25519 host
 * key, public-key authentication only, exec requests only (no shell, pty, agent or port
 * forwarding), answering commands from a host profile.
 */
export async function startSimSshHost(options: SimSshHostOptions): Promise<RunningSimSshHost> {
  const host = options.host ?? '127.0.0.1';
  if (!(host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) throw new Error(`simulated hosts listen on loopback only, not ${host}`);
  const hostKeys = options.hostKey ?? generateEd25519KeyPair();
  const allowed = options.authorizedKeys.map((line) => {
    const key = utils.parseKey(line);
    if (key instanceof Error) throw new Error(`invalid authorized key: ${key.message}`);
    return Array.isArray(key) ? key[0]! : key;
  });
  const hostPub = utils.parseKey(hostKeys.public);
  if (hostPub instanceof Error) throw hostPub;
  const hostBlob = (Array.isArray(hostPub) ? hostPub[0]! : hostPub).getPublicSSH();
  const commandLog: string[] = [];
  const connections = new Set<Connection>();

  const server = new Server({ hostKeys: [hostKeys.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => connections.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const key = allowed.find((k) => k.type === ctx.key.algo && safeEqual(ctx.key.data, k.getPublicSSH()));
      if (!key) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (_a, reject) => reject?.());
        session.on('shell', (_a, reject) => reject?.());
        session.on('auth-agent', (_a, reject) => reject?.());
        session.on('env', (a) => a?.());
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          commandLog.push(info.command);
          void answer(options.profile, info.command, stream).then(
            (a) => finish(stream, a),
            (err: unknown) => finish(stream, { stderr: `simulated host error: ${String(err)}\n`, exit: 255 }),
          );
        });
      });
      client.on('tcpip', (_a, reject) => reject());
      client.on('request', (_a, reject) => reject?.());
    });
  });

  // TCP is accepted here and handed to the SSH server, so an unreachable host can drop the
  // connection before a single SSH byte, as a cut network path would.
  const tcp = createServer((socket) => {
    if (options.reachable && !options.reachable()) socket.resetAndDestroy();
    else server.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (tcp.address() as AddressInfo).port;
  const b64 = hostBlob.toString('base64');
  const fingerprint = `SHA256:${createHash('sha256').update(hostBlob).digest('base64').replace(/=+$/, '')}`;
  return {
    host,
    port,
    knownHostsLine: `[${host}]:${port} ssh-ed25519 ${b64}`,
    fingerprint,
    commandLog,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.end();
        tcp.close(() => resolve());
      }),
  };
}

async function answer(profile: HostProfile, commandLine: string, stream: ServerChannel): Promise<CommandAnswer> {
  let argv = splitCommandLine(commandLine);
  if (!argv || argv.length === 0) return { stderr: 'sh: 1: syntax not supported by this simulated host\n', exit: 2 };
  // `sh -c SCRIPT [$0 ARGS…]`: the collectors' "does this command exist" probe, or a script
  // that is itself a plain command.
  if ((argv[0] === 'sh' || argv[0] === 'bash' || argv[0] === '/bin/sh') && argv[1] === '-c' && argv[2] !== undefined) {
    if (/^command -v -- "\$1"( >\/dev\/null 2>&1)?$/.test(argv[2].trim())) return answerLookup(profile, argv[4] ?? '');
    const inner = splitCommandLine(argv[2]);
    if (!inner || inner.length === 0) return { stderr: 'sh: 1: syntax not supported by this simulated host\n', exit: 2 };
    argv = inner;
  }
  argv = stripWrappers(argv);
  const [program = '', ...rest] = argv;
  if ((program === 'command' && rest[0] === '-v') || program === 'which') return answerLookup(profile, rest.at(-1) ?? '');
  const name = program.split('/').pop() ?? program;
  const handler = profile.commands.get(name);
  if (!handler) return { stderr: `sh: 1: ${program}: not found\n`, exit: 127 };
  let stdinPromise: Promise<Buffer> | undefined;
  return handler({
    argv: [name, ...rest],
    stdin: () => (stdinPromise ??= readAll(stream)),
  });
}

/** `timeout 30 cmd`, `sudo -n cmd`, `env A=B cmd`, `nice cmd`: answer `cmd`. */
function stripWrappers(argv: string[]): string[] {
  let a = argv;
  for (let guard = 0; guard < 8; guard++) {
    const [p, ...rest] = a;
    if (p === 'timeout' && rest.length > 1) a = rest.slice(rest[0]?.startsWith('-') ? 2 : 1);
    else if (p === 'sudo') a = rest.filter((x, i) => !(i === 0 && x === '-n'));
    else if (p === 'env') a = rest.slice(rest.findIndex((x) => !x.includes('=')));
    else if (p === 'nice' || p === 'ionice') a = rest;
    else break;
  }
  return a;
}

function readAll(stream: ServerChannel): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    stream.on('data', (c: Buffer) => {
      // Bounded: a simulated host never needs more than an auth key's worth of stdin.
      if (total < 64 * 1024) chunks.push(c);
      total += c.length;
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

function finish(stream: ServerChannel, a: CommandAnswer): void {
  if (a.stdout !== undefined && a.stdout.length > 0) stream.write(a.stdout);
  if (a.stderr) stream.stderr.write(a.stderr);
  stream.exit(a.exit);
  stream.end();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export type { ParsedKey };
