/**
 * The seam between collection logic and the wire: a connected host runs argv commands and
 * streams their stdout into a caller-supplied sink. The SSH implementation lives in
 * ssh-connector.ts; tests and drills fake this interface.
 */
import type { Writable } from 'node:stream';

export interface RemoteCommand {
  /** Program and arguments; quoted for the remote shell by the implementation, never spliced. */
  argv: readonly string[];
  /** Wall-clock limit for the whole command. */
  timeoutMs: number;
  /** Abort when no output (stdout or stderr) arrives for this long. */
  idleTimeoutMs?: number;
  /** Stop reading (and mark truncated) after this many stdout bytes. */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * Written to the command's stdin, then EOF. The way secrets reach a host (e.g. an auth key
   * for `tailscale up --auth-key=file:/dev/stdin`): never in argv, never logged.
   */
  stdin?: Buffer | string;
}

export interface CommandResult {
  /** Exit status, or null when the command ended without one (signal, timeout, lost link). */
  exitCode: number | null;
  /** Remote signal name when the command was killed by one. */
  signal: string | null;
  /** Bytes of stdout delivered to the sink (after the cap). */
  stdoutBytes: number;
  /** First bytes of stderr (never the whole stream: it is hostile and unbounded). */
  stderrExcerpt: string;
  timedOut: boolean;
  aborted: boolean;
  truncated: boolean;
  /** The SSH connection dropped while the command ran: the output is partial. */
  connectionLost: boolean;
}

export interface HostIdentity extends SshEndpoint {
  hostKeyFingerprint: string;
  hostKeyType: string;
  /** The jump host this connection went through, with the host key it presented. */
  jump?: (SshEndpoint & { hostKeyFingerprint: string }) | undefined;
}

export interface RemoteHost {
  readonly identity: HostIdentity;
  /** Run one command, streaming stdout into `stdout` with backpressure. Never rejects for a
   *  non-zero exit, timeout or lost connection: those are reported in the result. */
  run(command: RemoteCommand, stdout: Writable): Promise<CommandResult>;
  readonly connected: boolean;
  close(): Promise<void>;
}

/** Where an SSH connection goes: address as dialled (name or IP), port and user. */
export interface SshEndpoint {
  address: string;
  port: number;
  user: string;
}

/** `user@host:port` (`user@[v6]:port`) for plans and messages. */
export function formatSshEndpoint(e: SshEndpoint): string {
  return `${e.user}@${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
}

export interface HostTarget extends SshEndpoint {
  /** Label for archive paths and the manifest (e.g. the device name). */
  label: string;
  /**
   * ProxyJump for this connection: connect here first and tunnel to the target through it
   * (its host key pinned like the target's). Absent: connect directly.
   */
  jump?: SshEndpoint | undefined;
}

/** Opens connections; the collector runner calls it again once to reconnect after a drop. */
export interface RemoteConnector {
  connect(target: HostTarget, signal?: AbortSignal): Promise<RemoteHost>;
}

export const STDERR_EXCERPT_BYTES = 4096;
