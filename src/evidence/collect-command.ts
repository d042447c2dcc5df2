/**
 * `tailnet-ir collect`: parse the command line into collectEvidence() inputs, show progress on
 * a TTY, print a summary. Everything from the node is escaped before it reaches the terminal.
 */
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { DateTime } from 'luxon';
import { emit } from '../cli/output.js';
import { CredentialsError, ExitCode, InputFileError, UsageError } from '../core/errors.js';
import { terminalSafeLine } from '../core/terminal-text.js';
import { bundledCollectorsDir, loadCollectors } from './collector-schema.js';
import { collectEvidence, journalTime, type CollectProgress } from './collect-evidence.js';
import { planCollection } from './collection-plan.js';
import { commandLineFromArgv } from './shell-quote.js';
import { parseKnownHosts, type HostKeyPin } from './host-keys.js';
import { formatSshEndpoint, type HostTarget } from './remote-command.js';
import { createSshConnector, loadKeyAuth, type SshAuth } from './ssh-connector.js';
import { signerFromAgent, signerFromKeyFile } from './signing-keys.js';
import { DRILL_NAMESPACE, EVIDENCE_NAMESPACE, type Ed25519Signer } from './sshsig.js';

export interface CollectCliOptions {
  host: string[];
  knownHosts?: string;
  hostKey?: string;
  identity?: string;
  jump?: string;
  collectors?: string;
  collectorsDir?: string;
  container?: string[];
  composeDir?: string[];
  since?: string;
  until?: string;
  var?: string[];
  includeSensitive?: boolean;
  out: string;
  signKey?: string;
  signAgent?: boolean;
  case?: string;
  operator?: string;
  deviceId?: string;
  deviceName?: string;
  address?: string[];
  connectTimeout: string;
  drill?: boolean;
  dryRun?: boolean;
  json?: boolean;
  /** Re-read and inflate the whole sealed archive before exiting (default: the quick check). */
  fullCheck?: boolean;
}

/** `user@host[:port]`, `user@[v6]:port`. */
export function parseSshDestination(text: string, flag: string): { user: string; address: string; port: number } {
  const m = /^([A-Za-z0-9._][A-Za-z0-9._-]*)@(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]*)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new UsageError(`${flag} ${JSON.stringify(text)} is not USER@HOST[:PORT].`, { hint: `e.g. ${flag} root@web-1.tail1234.ts.net:22` });
  const port = m[3] ? Number(m[3]) : 22;
  if (port < 1 || port > 65535) throw new UsageError(`${flag}: port ${port} is out of range.`);
  return { user: m[1] as string, address: (m[2] as string).replace(/^\[|\]$/g, ''), port };
}

function parseTime(text: string | undefined, flag: string, fallback: Date): Date {
  if (!text) return fallback;
  const dt = DateTime.fromISO(text, { zone: 'utc' });
  if (!dt.isValid) throw new UsageError(`${flag} ${JSON.stringify(text)} is not an ISO 8601 time.`, { hint: 'e.g. 2026-01-31T22:00:00Z' });
  return dt.toJSDate();
}

async function promptSecret(message: string, envName: string): Promise<string | undefined> {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) return undefined;
  const { password, isCancel } = await import('@clack/prompts');
  const v = await password({ message });
  return isCancel(v) ? undefined : v;
}

/** Progress for a terminal: one status line rewritten in place; node data is escaped. */
export function progressPrinter(out: { write(text: string): unknown } | undefined): (e: CollectProgress) => void {
  if (!out) return () => undefined;
  let artifacts = 0;
  let total = 0;
  const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  return (e) => {
    if (e.type === 'host') out.write(`\r\x1b[K[${terminalSafeLine(e.host)}] ${e.state}${e.detail ? `: ${terminalSafeLine(e.detail)}` : ''}\n`);
    else if (e.type === 'artifact-bytes')
      out.write(`\r\x1b[K  ${terminalSafeLine(e.collector)}/${terminalSafeLine(e.name).slice(0, 60)} ${mb(e.bytes)}`);
    else if (e.type === 'artifact-done') {
      artifacts++;
      total += e.record.bytes;
      const flag = e.record.exitCode === 0 ? '' : ` (${e.record.error ?? `exit ${e.record.exitCode ?? e.record.signal ?? '?'}`})`;
      out.write(`\r\x1b[K  ${artifacts} artifacts, ${mb(total)}: ${terminalSafeLine(e.record.collector)}/${terminalSafeLine(e.record.name).slice(0, 60)}${terminalSafeLine(flag)}`);
    } else if (e.type === 'sealing') out.write(`\r\x1b[Ksealing archive (${artifacts} artifacts, ${mb(total)})…\n`);
  };
}

export async function runCollect(opts: CollectCliOptions): Promise<void> {
  if (opts.dryRun) return printPlan(opts);
  if (!opts.knownHosts && !opts.hostKey)
    throw new UsageError('No host key pinned: pass --known-hosts FILE or --host-key SHA256:….', {
      hint: 'Evidence is only collected from a host whose key you pinned deliberately (get it on the node console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).',
    });
  if (opts.hostKey && !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(opts.hostKey))
    throw new UsageError(`--host-key ${JSON.stringify(opts.hostKey)} is not a SHA256 fingerprint like ssh-keygen -lf prints.`);
  const jump = opts.jump ? parseSshDestination(opts.jump, '--jump') : undefined;
  const hosts: HostTarget[] = opts.host.map((h) => {
    const d = parseSshDestination(h, '--host');
    return { label: d.address, ...d, ...(jump ? { jump } : {}) };
  });
  if (opts.hostKey && hosts.length > 1)
    throw new UsageError('--host-key pins one host; with several --host use --known-hosts (one line per host).');
  if (jump && !opts.knownHosts)
    throw new UsageError('--jump needs --known-hosts: the jump host and the target each have their own host key to pin.');

  let pin: HostKeyPin;
  if (opts.knownHosts) {
    const text = await readFile(opts.knownHosts, 'utf8').catch((err: Error) => {
      throw new InputFileError(opts.knownHosts ?? '', `cannot read: ${err.message}`);
    });
    pin = { kind: 'known-hosts', entries: parseKnownHosts(text), source: opts.knownHosts };
  } else pin = { kind: 'fingerprint', fingerprint: opts.hostKey ?? '' };

  let auth: SshAuth;
  if (opts.identity) auth = await loadKeyAuth(opts.identity, () => promptSecret(`Passphrase for ${opts.identity}`, 'TAILNET_IR_SSH_PASSPHRASE'));
  else if (process.env.SSH_AUTH_SOCK) auth = { kind: 'agent', socketPath: process.env.SSH_AUTH_SOCK };
  else throw new CredentialsError('No SSH credentials: pass --identity KEY or start ssh-agent (SSH_AUTH_SOCK).');

  let signer: Ed25519Signer | undefined;
  if (opts.signKey) signer = await signerFromKeyFile(opts.signKey, () => promptSecret(`Passphrase for ${opts.signKey}`, 'TAILNET_IR_SIGN_PASSPHRASE'));
  else if (opts.signAgent) {
    if (!process.env.SSH_AUTH_SOCK) throw new CredentialsError('--sign-agent needs a running ssh-agent (SSH_AUTH_SOCK).');
    signer = await signerFromAgent(process.env.SSH_AUTH_SOCK);
  }

  const variables: Record<string, string> = {};
  for (const v of opts.var ?? []) {
    const m = /^([a-z][a-zA-Z0-9_-]*)=(.*)$/.exec(v);
    if (!m) throw new UsageError(`--var ${JSON.stringify(v)} is not NAME=VALUE.`);
    variables[m[1] as string] = m[2] as string;
  }
  const dir = opts.collectorsDir ?? fileURLToPath(bundledCollectorsDir);
  const all = await loadCollectors(dir, Object.keys(variables));
  const wanted = opts.collectors ? opts.collectors.split(',').map((s) => s.trim()).filter(Boolean) : [...all.keys()];
  const unknown = wanted.filter((w) => !all.has(w));
  if (unknown.length)
    throw new UsageError(`Unknown collector(s): ${unknown.join(', ')}.`, { hint: `Available: ${[...all.keys()].join(', ')}` });

  const now = new Date();
  const until = parseTime(opts.until, '--until', now);
  const since = parseTime(opts.since, '--since', new Date(until.getTime() - 24 * 3600_000));
  const timeout = Number(opts.connectTimeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError('--connect-timeout must be a positive number of seconds.');

  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let result;
  try {
    result = await collectEvidence({
      connector: createSshConnector({ auth, hostKeys: pin, connectTimeoutMs: timeout * 1000 }),
      collectors: wanted.map((w) => all.get(w)).filter((c) => c !== undefined),
      hosts,
      archivePath: opts.out,
      run: {
        runId: `collect-${randomUUID()}`,
        caseId: opts.case,
        operator: opts.operator ?? process.env.USER ?? 'unknown',
        target: { deviceId: opts.deviceId, name: opts.deviceName, addresses: opts.address ?? [] },
      },
      window: { since, until },
      variables,
      containers: opts.container ?? [],
      composeDirs: opts.composeDir ?? [],
      includeSensitive: Boolean(opts.includeSensitive),
      signal: ac.signal,
      onProgress: progressPrinter(!opts.json && process.stderr.isTTY ? process.stderr : undefined),
      namespace: opts.drill ? DRILL_NAMESPACE : EVIDENCE_NAMESPACE,
      ...(signer ? { signer } : {}),
      selfCheck: opts.fullCheck ? 'full' : 'quick',
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }

  const m = result.manifest;
  const failedHosts = m.hosts.filter((h) => !h.connected);
  const badCollectors = m.collectors.filter((c) => c.status === 'failed' || c.status === 'partial');
  const summary = {
    archive: result.archivePath,
    signature: result.signaturePath ?? null,
    runId: m.runId,
    hosts: m.hosts,
    artifacts: m.artifacts.length,
    bytes: m.artifacts.reduce((n, a) => n + a.bytes, 0),
    collectors: m.collectors,
    skipped: m.skipped.length,
    aborted: m.aborted,
    selfCheck: result.selfCheck,
  };
  if (m.aborted) process.exitCode = ExitCode.interrupted;
  else if (failedHosts.some((h) => h.errorCode === 'host-key-rejected')) process.exitCode = ExitCode.conflict;
  else if (failedHosts.length) process.exitCode = ExitCode.remote;
  else if (badCollectors.length) process.exitCode = ExitCode.checkFailed;

  emit(opts.json, summary, () => {
    const lines = [`archive:   ${terminalSafeLine(result.archivePath)} (${summary.artifacts} artifacts, ${(summary.bytes / 1048576).toFixed(1)} MiB)`];
    lines.push(result.signaturePath ? `signature: ${terminalSafeLine(result.signaturePath)} (${m.namespace})` : 'signature: NONE (pass --sign-key or --sign-agent to sign)');
    for (const h of m.hosts) {
      lines.push(
        h.connected
          ? `host ${terminalSafeLine(h.label)}: ${h.hostKeyType ?? ''} ${h.hostKeyFingerprint ?? ''}${h.reconnects ? ` (reconnected ${h.reconnects}×)` : ''}`
          : `host ${terminalSafeLine(h.label)}: NOT COLLECTED: ${terminalSafeLine(h.error ?? 'unknown error')}`,
      );
    }
    for (const c of m.collectors)
      lines.push(`  ${c.status.padEnd(7)} ${terminalSafeLine(c.host)}/${c.collector}${c.reason ? `: ${terminalSafeLine(c.reason)}` : ''}`);
    if (failedHosts.some((h) => h.errorCode === 'host-key-rejected'))
      lines.push('hint: confirm the fingerprint out of band, then pin it deliberately with --known-hosts or --host-key.');
    lines.push(`verify:    tailnet-ir verify ${terminalSafeLine(result.archivePath)} --allowed-signers FILE --identity ID`);
    return lines.join('\n');
  });
}

/** `--dry-run`: print the commands that would run, without connecting or writing anything. */
async function printPlan(opts: CollectCliOptions): Promise<void> {
  const hosts = opts.host.map((h) => parseSshDestination(h, '--host'));
  const jump = opts.jump ? parseSshDestination(opts.jump, '--jump') : undefined;
  const variables: Record<string, string> = {};
  for (const v of opts.var ?? []) {
    const m = /^([a-z][a-zA-Z0-9_-]*)=(.*)$/.exec(v);
    if (!m) throw new UsageError(`--var ${JSON.stringify(v)} is not NAME=VALUE.`);
    variables[m[1] as string] = m[2] as string;
  }
  const all = await loadCollectors(opts.collectorsDir ?? fileURLToPath(bundledCollectorsDir), Object.keys(variables));
  const wanted = opts.collectors ? opts.collectors.split(',').map((s) => s.trim()).filter(Boolean) : [...all.keys()];
  const unknown = wanted.filter((w) => !all.has(w));
  if (unknown.length) throw new UsageError(`Unknown collector(s): ${unknown.join(', ')}.`, { hint: `Available: ${[...all.keys()].join(', ')}` });
  const until = parseTime(opts.until, '--until', new Date());
  const since = parseTime(opts.since, '--since', new Date(until.getTime() - 24 * 3600_000));
  const plan = planCollection(
    wanted.map((w) => all.get(w)).filter((c) => c !== undefined),
    {
      variables,
      includeSensitive: Boolean(opts.includeSensitive),
      since: journalTime(since),
      until: journalTime(until),
      host: hosts[0]?.address ?? '',
    },
  );
  emit(opts.json, { hosts, ...(jump ? { jump } : {}), out: opts.out, plan }, () =>
    [
      `Would collect from ${hosts.map((h) => formatSshEndpoint(h)).join(', ')}${jump ? ` via ${formatSshEndpoint(jump)}` : ''} into ${opts.out} (nothing was run):`,
      ...plan.map(
        (p) =>
          `${p.collect ? '  run ' : '  skip'} ${p.collector}/${p.name}: ${commandLineFromArgv(p.argv)}` +
          (p.foreach ? `\n         for ${p.foreach}` : '') +
          (p.condition ? `\n         if ${p.condition}` : '') +
          (p.reason ? `\n         (${p.reason})` : ''),
      ),
    ].join('\n'),
  );
}
