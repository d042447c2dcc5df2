/**
 * A RemoteConnector that runs argv on this machine (no shell in between, like an SSH exec of
 * the quoted command line): for testing the fixed remote scripts with real shells and real
 * files without an sshd. `shell` replaces a leading `sh` (to try dash, bash, busybox ash).
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { STDERR_EXCERPT_BYTES, type CommandResult, type HostTarget, type RemoteCommand, type RemoteConnector, type RemoteHost } from '../../src/evidence/remote-command.js';

export interface LocalConnectorOptions {
  env?: NodeJS.ProcessEnv;
  /** argv for `sh`, e.g. ['busybox', 'sh']. */
  shell?: string[];
}

export function localConnector(options: LocalConnectorOptions = {}) {
  const calls: { argv: string[]; stdin: string | undefined }[] = [];
  const connector: RemoteConnector = {
    async connect(target: HostTarget): Promise<RemoteHost> {
      let open = true;
      return {
        identity: { address: target.address, port: target.port, user: target.user, hostKeyFingerprint: 'SHA256:local', hostKeyType: 'ssh-ed25519' },
        get connected() {
          return open;
        },
        run(cmd: RemoteCommand, sink: Writable): Promise<CommandResult> {
          calls.push({ argv: [...cmd.argv], stdin: cmd.stdin === undefined ? undefined : String(cmd.stdin) });
          const argv = cmd.argv[0] === 'sh' && options.shell ? [...options.shell, ...cmd.argv.slice(1)] : [...cmd.argv];
          return new Promise((resolve) => {
            const result: CommandResult = { exitCode: null, signal: null, stdoutBytes: 0, stderrExcerpt: '', timedOut: false, aborted: false, truncated: false, connectionLost: false };
            const child = spawn(argv[0]!, argv.slice(1), { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
            const timer = setTimeout(() => {
              result.timedOut = true;
              child.kill('SIGKILL');
            }, cmd.timeoutMs);
            let stderr = Buffer.alloc(0);
            child.stdout.on('data', (d: Buffer) => {
              result.stdoutBytes += d.length;
              sink.write(d);
            });
            child.stderr.on('data', (d: Buffer) => {
              if (stderr.length < STDERR_EXCERPT_BYTES) stderr = Buffer.concat([stderr, d]).subarray(0, STDERR_EXCERPT_BYTES);
            });
            child.stdin.on('error', () => undefined);
            child.stdin.end(cmd.stdin ?? '');
            child.on('close', (code, signal) => {
              clearTimeout(timer);
              result.exitCode = code;
              result.signal = signal;
              result.stderrExcerpt = stderr.toString('utf8');
              resolve(result);
            });
          });
        },
        async close() {
          open = false;
        },
      };
    },
  };
  return { connector, calls };
}
