/**
 * Re-enrol a ScaleTail-style sidecar deployment: a docker compose project on a container host
 * whose `tailscale` service reads `TS_AUTHKEY` from the project's `.env` and keeps the node
 * identity in `./ts/state` (or a named volume). Over SSH to the container host, in the
 * configured project directory:
 *
 *   1. `.env`: every `TS_AUTHKEY=` line is replaced with the new key, read from stdin by the
 *      shell's `read` and written by its builtin `printf` (the key is in no process's argv), into
 *      a temp file next to `.env` that then replaces it (rename). Every other byte is kept.
 *   2. `<compose> down`, then the sidecar's old state is cleared (the state directory emptied but
 *      kept, or the state volume removed), so `TS_AUTH_ONCE=true` cannot reuse the old identity.
 *   3. `<compose> up -d`, then the sidecar container must be running, and still running a few
 *      seconds later.
 *
 * Each step is one fixed script (`sh -c SCRIPT NAME ARGS…`): configuration values travel as
 * positional arguments and are never spliced into shell text; everything the host prints is
 * hostile and is redacted and escaped before it reaches an error message.
 *
 * Unlike the SSH method, this does not refuse a host that still presents a host key the run saw
 * on the compromised node: the compromised node is the sidecar container, which has no sshd.
 * The run collected from (and now connects to) the container host, whose key is expected to
 * stay the same; the container and its identity are what gets replaced.
 */
import { Writable } from 'node:stream';
import { magicDnsLabel } from '../core/device-config-key.js';
import { REDACTED, redactString } from '../core/redact-secrets.js';
import type { SidecarSettings } from '../core/rebuild-config.js';
import { terminalSafeLine } from '../core/terminal-text.js';
import type { CommandResult, RemoteConnector, RemoteHost } from '../evidence/remote-command.js';
import { describeRoute, type SshRoute } from '../evidence/ssh-setup.js';
import type { Device } from '../tailnet/types.js';
import { ExitCode, TailnetIrError } from '../core/errors.js';
import { EnrolmentFailedError, EnrolmentRefusedError } from './enrolment-failed-error.js';
import type { MethodEnroller } from './rebuild-enroller.js';

export interface SidecarEnrollerOptions {
  connector: RemoteConnector;
  /** Where to SSH: the container host (an `ssh.devices` entry for the device). */
  routeFor: (device: Device) => SshRoute;
  settings: SidecarSettings;
  timeouts?: { envMs?: number; resetMs?: number; upMs?: number };
  /** Seconds the sidecar must still be running after `up -d` (default 3). */
  settleSeconds?: number;
}

/**
 * Exit statuses of the scripts' own checks: the project is not as this method needs it (no such
 * directory, no `.env` or no `TS_AUTHKEY=` line, a symlink, no state where the settings say,
 * a shell without builtin printf). Retrying with a fresh key fails the same way, so these are
 * refusals (the step is not retried); everything else — compose or engine failures, timeouts,
 * a lost connection — may be transient and is retried by the playbook.
 */
const REFUSED_EXITS = new Set([10, 11, 12, 13, 14, 15, 18, 20, 22, 29, 30]);

/** What a key must look like to be written unquoted into `.env` (Tailscale keys: `tskey-auth-…`). */
const PLAIN_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{0,255}$/;

/**
 * Step 1, `$1` = project directory, the key on stdin (one line). Refuses when `.env` is missing,
 * a symbolic link, or has no `TS_AUTHKEY=` line: ScaleTail's compose file takes the key from
 * `.env`, so a project without that line gets its key some other way and appending one would
 * change nothing the sidecar reads. Lines are copied with `read -r`/`printf '%s'` (a last line
 * without a newline stays without one, a CR before the newline is kept). The new file keeps the
 * owner, group and permission bits of the old one, minus any access for others and execute bits
 * (an auth key is never world-readable); without `stat` it is 0600 and owned by the SSH user.
 */
export const ENV_SCRIPT = String.raw`set -u
umask 077
fail() { printf 'tailnet-ir: %s\n' "$2" >&2; exit "$1"; }
cd -- "$1" 2>/dev/null || fail 10 'cannot enter the project directory'
case $(command -V printf 2>&1) in *builtin*) ;; *) fail 11 'printf is not a shell builtin here: refusing to handle the key' ;; esac
rm -f -- .env.tailnet-ir.??????
if [ -L .env ]; then fail 12 '.env is a symbolic link: refusing to replace it'; fi
[ -f .env ] || fail 12 'the project directory has no .env file'
key=
IFS= read -r key || :
case $key in ''|*[!A-Za-z0-9_-]*) fail 13 'the key read from stdin is empty or malformed' ;; esac
found=0
while IFS= read -r line || [ -n "$line" ]; do
  case $line in TS_AUTHKEY=*) found=$((found + 1)) ;; esac
done < .env || fail 14 'cannot read .env'
[ "$found" -gt 0 ] || fail 15 '.env has no TS_AUTHKEY= line'
tmp=$(mktemp .env.tailnet-ir.XXXXXX) || fail 16 'cannot create a temporary file in the project directory'
trap 'rm -f -- "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
cr=$(printf '\r')
while :; do
  eol=1
  IFS= read -r line || { [ -n "$line" ] || break; eol=0; }
  case $line in
    TS_AUTHKEY=*"$cr") printf 'TS_AUTHKEY=%s\r' "$key" ;;
    TS_AUTHKEY=*) printf 'TS_AUTHKEY=%s' "$key" ;;
    *) printf '%s' "$line" ;;
  esac
  [ "$eol" = 1 ] || break
  printf '\n'
done < .env > "$tmp" || fail 17 'cannot write the new .env'
n=0
while IFS= read -r line || [ -n "$line" ]; do
  case $line in "TS_AUTHKEY=$key"|"TS_AUTHKEY=$key$cr") n=$((n + 1)) ;; esac
done < "$tmp"
[ "$n" = "$found" ] || fail 17 'the new .env did not come out as expected'
if owner=$(stat -c %u:%g .env 2>/dev/null) && mode=$(stat -c %a .env 2>/dev/null); then
  case $owner in *[!0-9:]*|'') fail 18 'unexpected owner of .env' ;; esac
  case $mode in *[!0-7]*|'') fail 18 'unexpected mode of .env' ;; esac
  if [ "$owner" != "$(id -u):$(id -g)" ]; then
    chown "$owner" "$tmp" 2>/dev/null || fail 18 ".env belongs to $owner and this user cannot give the new file that owner"
  fi
  { chmod "$mode" "$tmp" && chmod a-xst,o-rwx "$tmp"; } || fail 18 'cannot set the mode of the new .env'
fi
sync -- "$tmp" 2>/dev/null || sync 2>/dev/null || :
mv -f -- "$tmp" .env || fail 19 'cannot replace .env'
printf 'tailnet-ir: TS_AUTHKEY rewritten in .env (%s line(s)), other lines unchanged\n' "$found"
`;

/**
 * Step 2, `$1` = project directory, `$2` = `dir` or `volume`, `$3` = the state directory
 * (relative to the project) or volume name, `$4` = the container engine, then the compose words.
 * The state's place is checked before anything stops (a wrong `stateDir`/`stateVolume` leaves
 * the project running). The state directory is emptied (its entries removed; symbolic links are
 * removed, never followed) and kept, so the bind mount still has its source; a state volume is
 * removed.
 */
export const RESET_SCRIPT = String.raw`set -u
fail() { printf 'tailnet-ir: %s\n' "$2" >&2; exit "$1"; }
cd -- "$1" 2>/dev/null || fail 20 'cannot enter the project directory'
kind=$2 state=$3 engine=$4 already=0
shift 4
case $kind in
  dir)
    if [ -L "$state" ]; then fail 22 'the state directory is a symbolic link: refusing to clear it (nothing was stopped)'; fi
    [ -d "$state" ] || fail 22 'the state directory does not exist in the project (nothing was stopped)'
    for f in .env compose.yaml compose.yml docker-compose.yaml docker-compose.yml; do
      if [ -e "$state/$f" ]; then fail 22 "the state directory holds $f: it is not the sidecar's state, refusing to empty it (nothing was stopped)"; fi
    done ;;
  volume)
    if "$engine" volume inspect "$state" >/dev/null 2>&1; then :
    elif [ -f .tailnet-ir-cleared-volume ] && [ "$(cat .tailnet-ir-cleared-volume)" = "$state" ]; then already=1
    else fail 22 'the state volume does not exist (nothing was stopped)'; fi ;;
  *) fail 29 'unknown state kind' ;;
esac
"$@" down 2>&1 || fail 21 'compose down failed: the project may still be running'
case $kind in
  dir)
    cd -- "$state" || fail 23 'cannot enter the state directory'
    rm -rf -- ./* ./.[!.]* ./..?* || fail 23 'cannot remove the old node state'
    for f in ./* ./.[!.]* ./..?*; do
      if [ -e "$f" ] || [ -L "$f" ]; then fail 23 'the state directory is not empty after clearing it'; fi
    done
    printf 'tailnet-ir: old node state cleared (directory kept, now empty)\n' ;;
  volume)
    if [ "$already" = 1 ]; then
      printf 'tailnet-ir: old node state volume already removed by an earlier attempt\n'
    else
      # Remembered until the project is up again: a retry after an interrupted attempt finds the
      # volume gone, and this says it was us, not a wrong stateVolume.
      printf '%s\n' "$state" > .tailnet-ir-cleared-volume || fail 23 'cannot record the state volume being cleared'
      "$engine" volume rm "$state" 2>&1 || fail 23 'cannot remove the state volume'
      printf 'tailnet-ir: old node state volume removed\n'
    fi ;;
esac
`;

/**
 * Step 3, `$1` = project directory, `$2` = the sidecar's compose service, `$3` = seconds it must
 * stay up, `$4` = the container engine, then the compose words. A `TS_AUTHKEY` in the SSH
 * session's environment (a login profile) would win over `.env` in compose's interpolation: it
 * is unset first.
 */
export const UP_SCRIPT = String.raw`set -u
set -f
fail() { printf 'tailnet-ir: %s\n' "$2" >&2; exit "$1"; }
cd -- "$1" 2>/dev/null || fail 30 'cannot enter the project directory'
service=$2 settle=$3 engine=$4
shift 4
unset TS_AUTHKEY || fail 30 'TS_AUTHKEY is set read-only in this shell and would override .env'
"$@" up -d 2>&1 || fail 31 'compose up -d failed'
id=
for i in $("$@" ps -q "$service" 2>/dev/null); do id=$i; break; done
case $id in ''|*[!0-9a-f]*) fail 32 'compose reports no container for the sidecar service' ;; esac
running() { [ "$("$engine" inspect -f '{{.State.Running}}' "$id" 2>/dev/null)" = true ]; }
running || fail 33 "the sidecar container $id is not running after compose up (see: $engine logs $id)"
sleep "$settle"
running || fail 33 "the sidecar container $id stopped within $settle s of starting (see: $engine logs $id)"
rm -f -- .tailnet-ir-cleared-volume
printf 'tailnet-ir: sidecar container %s is running\n' "$id"
`;

/** The engine CLI that goes with the compose command: `docker compose`/`docker-compose` → docker. */
export function containerEngine(compose: readonly string[]): string {
  const first = compose[0] ?? 'docker';
  if (compose.length === 1) {
    const base = first.slice(first.lastIndexOf('/') + 1);
    const m = /^(.+)-compose$/.exec(base);
    if (m) return m[1]!;
  }
  return first;
}

/** Keeps the last `limit` bytes written to it: the end of a tool's output is where it says why. */
class TailSink extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
    cb();
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** Hostile output for a message: the key (and anything key-shaped) masked, escaped, the end of it. */
export function outputExcerpt(text: string, authKey: string, maxChars = 400): string {
  const masked = redactString(authKey ? text.split(authKey).join(REDACTED) : text);
  const lines = masked
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  const tail = terminalSafeLine(lines.slice(-6).join('\n'));
  return tail.length > maxChars ? `…${tail.slice(tail.length - maxChars)}` : tail;
}

function howItEnded(r: CommandResult): string {
  if (r.timedOut) return 'timed out';
  if (r.connectionLost) return 'the SSH connection was lost';
  if (r.aborted) return 'cancelled';
  return `exit ${r.exitCode ?? r.signal ?? '?'}`;
}

export function createSidecarEnroller(options: SidecarEnrollerOptions): MethodEnroller {
  const s = options.settings;
  const compose = s.compose.join(' ');
  const engine = containerEngine(s.compose);
  const state = s.stateVolume ? { kind: 'volume', name: s.stateVolume } : { kind: 'dir', name: s.stateDir ?? 'ts/state' };
  const stateText = state.kind === 'volume' ? `remove the state volume ${state.name} (${engine} volume rm)` : `empty the state directory ${state.name} (kept, contents removed)`;
  const settle = Math.max(0, Math.min(60, Math.floor(options.settleSeconds ?? 3)));
  const timeouts = { envMs: 60_000, resetMs: 300_000, upMs: 600_000, ...options.timeouts };

  return {
    async describe(device) {
      const route = options.routeFor(device);
      const at = describeRoute(route);
      const name = magicDnsLabel(device);
      return {
        summary: [
          `over SSH to the container host ${at}, in ${s.directory}: (1) rewrite TS_AUTHKEY in .env with the key read from stdin (never in argv; the file is replaced atomically, its other lines kept)`,
          `(2) ${compose} down, ${stateText} so the sidecar cannot reuse the old identity`,
          `(3) ${compose} up -d and check the ${s.service} container keeps running; it must enrol as ${name} (the compose project's hostname)`,
        ],
        warnings:
          route.path === 'tailnet'
            ? [
                `${at} is the old node's Tailscale address, but a sidecar has no sshd and its node is deleted before this step: map ${name} under ssh.devices to the container host's management address.`,
              ]
            : [],
      };
    },

    async enrol({ oldDevice, authKey }) {
      const route = options.routeFor(oldDevice);
      const at = describeRoute(route);
      if (!PLAIN_KEY.test(authKey))
        throw new EnrolmentRefusedError('the minted key is not a plain token that can be written unquoted into .env; nothing was changed on the container host', {
          hint: 'Enrol the sidecar by hand (rebuild method manual). The minted key was revoked.',
        });
      let host: RemoteHost;
      try {
        host = await options.connector.connect(route.target);
      } catch (err) {
        // A host key that does not match the pin is a refusal; an unreachable host may come back.
        const Failure = err instanceof TailnetIrError && err.exitCode !== ExitCode.remote ? EnrolmentRefusedError : EnrolmentFailedError;
        throw new Failure(`cannot reach the container host ${route.target.address}:${route.target.port} over SSH: ${(err as Error).message}`, {
          hint: 'Check the ssh.devices entry for the device (the container host, not the sidecar) and its pinned host key, then resume. Nothing was changed; the minted key was revoked.',
          cause: err,
        });
      }
      const step = async (n: 1 | 2 | 3, what: string, script: string, args: string[], timeoutMs: number, stdin: string, hint: string): Promise<void> => {
        const out = new TailSink(16 * 1024);
        const r = await host.run({ argv: ['sh', '-c', script, `tailnet-ir-sidecar-step${n}`, s.directory, ...args], stdin, timeoutMs }, out);
        if (r.exitCode === 0) return;
        const said = outputExcerpt(`${out.text()}\n${r.stderrExcerpt}`, authKey);
        const Failure = r.exitCode !== null && REFUSED_EXITS.has(r.exitCode) ? EnrolmentRefusedError : EnrolmentFailedError;
        throw new Failure(`sidecar re-enrolment step ${n}/3 (${what}) failed on ${at} in ${s.directory} (${howItEnded(r)})${said ? `: ${said}` : ''}`, {
          hint: `${hint} The minted key was revoked; a resume (or the step's retry) mints a new one and runs all three steps again.`,
        });
      };
      try {
        await step(
          1,
          'rewrite TS_AUTHKEY in .env',
          ENV_SCRIPT,
          [],
          timeouts.envMs,
          `${authKey}\n`,
          'Nothing else was changed (the project is still as it was). Check that the directory holds the compose project and that its .env has a TS_AUTHKEY= line (ScaleTail: TS_AUTHKEY=${TS_AUTHKEY} in the compose file).',
        );
        await step(
          2,
          `${compose} down and clear the old sidecar state`,
          RESET_SCRIPT,
          [state.kind, state.name, engine, ...s.compose],
          timeouts.resetMs,
          '',
          `.env already holds the new (now revoked) key. Check the compose command (${compose}) and the state setting (stateDir/stateVolume) on the container host; the project may be stopped.`,
        );
        await step(
          3,
          `${compose} up -d and check the sidecar runs`,
          UP_SCRIPT,
          [s.service, String(settle), engine, ...s.compose],
          timeouts.upMs,
          '',
          `The old state is gone and the project may be stopped. Look at the sidecar's logs on the container host (${engine} logs).`,
        );
      } finally {
        await host.close();
      }
      return {
        method: 'sidecar',
        detail: `${at} in ${s.directory}: TS_AUTHKEY in .env rewritten (key on stdin), ${compose} down, ${state.kind === 'volume' ? `state volume ${state.name} removed` : `state directory ${state.name} emptied`}, ${compose} up -d, ${s.service} running`,
      };
    },
  };
}
