/** A scripted RemoteConnector for runner tests: argv → output, exit, or a dropped connection. */
import type { Writable } from 'node:stream';
import type { CommandResult, HostTarget, RemoteCommand, RemoteConnector, RemoteHost } from '../../../../src/evidence/remote-command.js';

export type Script = (argv: readonly string[], connection: number) =>
  | { stdout?: string | Buffer; stderr?: string; exitCode?: number; drop?: boolean; hang?: boolean }
  | undefined;

export function fakeConnector(script: Script, opts: { failConnect?: (n: number) => Error | undefined } = {}) {
  const calls: { argv: string[]; connection: number }[] = [];
  let connections = 0;
  const connector: RemoteConnector = {
    async connect(target: HostTarget): Promise<RemoteHost> {
      connections++;
      const err = opts.failConnect?.(connections);
      if (err) throw err;
      const n = connections;
      let alive = true;
      return {
        identity: { address: target.address, port: target.port, user: target.user, hostKeyFingerprint: 'SHA256:fake', hostKeyType: 'ssh-ed25519' },
        get connected() {
          return alive;
        },
        async run(cmd: RemoteCommand, sink: Writable): Promise<CommandResult> {
          calls.push({ argv: [...cmd.argv], connection: n });
          const base: CommandResult = { exitCode: null, signal: null, stdoutBytes: 0, stderrExcerpt: '', timedOut: false, aborted: false, truncated: false, connectionLost: false };
          if (!alive) return { ...base, connectionLost: true };
          const r = script(cmd.argv, n) ?? { stderr: 'command not found', exitCode: 127 };
          let out = r.stdout === undefined ? Buffer.alloc(0) : Buffer.from(r.stdout);
          let truncated = false;
          if (cmd.maxBytes !== undefined && out.length > cmd.maxBytes) {
            out = out.subarray(0, cmd.maxBytes);
            truncated = true;
          }
          if (out.length) sink.write(out);
          if (r.drop) {
            alive = false;
            return { ...base, stdoutBytes: out.length, connectionLost: true };
          }
          if (r.hang) return { ...base, stdoutBytes: out.length, timedOut: true };
          return { ...base, exitCode: r.exitCode ?? 0, stdoutBytes: out.length, stderrExcerpt: r.stderr ?? '', truncated };
        },
        async close() {
          alive = false;
        },
      };
    },
  };
  return { connector, calls, connections: () => connections };
}
