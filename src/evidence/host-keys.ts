/**
 * Host-key pinning: OpenSSH fingerprints and known_hosts matching (plain, `[host]:port`,
 * wildcard and hashed `|1|salt|hash` entries, `@revoked` markers). Pure: the caller reads files.
 */
import { createHash, createHmac } from 'node:crypto';

/** `SHA256:` + unpadded base64 of the key blob, exactly as `ssh-keygen -lf` prints it. */
export function sha256Fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (first length-prefixed string). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len > 64 || 4 + len > blob.length) return 'unknown';
  return blob.subarray(4, 4 + len).toString('latin1');
}

export interface KnownHostEntry {
  marker: 'revoked' | 'cert-authority' | null;
  /** Host patterns as written (comma-separated), or the hashed form. */
  hosts: string;
  keyType: string;
  keyBlob: Buffer;
  line: number;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64) return;
    const keyBlob = Buffer.from(b64, 'base64');
    if (keyBlob.length === 0 || keyTypeOfBlob(keyBlob) !== keyType) return;
    entries.push({ marker, hosts, keyType, keyBlob, line: i + 1 });
  });
  return entries;
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hostsFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt64, hash64] = hosts.split('|');
    if (!salt64 || !hash64) return false;
    const mac = createHmac('sha1', Buffer.from(salt64, 'base64')).update(name).digest('base64');
    return mac === hash64;
  }
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    if (globToRegExp(p).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

export type HostKeyPin =
  | { kind: 'known-hosts'; entries: KnownHostEntry[]; source: string }
  | { kind: 'fingerprint'; fingerprint: string };

export type HostKeyDecision =
  | { ok: true; fingerprint: string; keyType: string }
  | { ok: false; reason: 'unknown' | 'mismatch' | 'revoked'; fingerprint: string; keyType: string; expected: string[] };

/** Decide whether a presented host key is the pinned one for `host:port`. */
export function checkHostKey(pin: HostKeyPin, host: string, port: number, keyBlob: Buffer): HostKeyDecision {
  const fingerprint = sha256Fingerprint(keyBlob);
  const keyType = keyTypeOfBlob(keyBlob);
  if (pin.kind === 'fingerprint') {
    const want = pin.fingerprint.replace(/=+$/, '');
    return want === fingerprint
      ? { ok: true, fingerprint, keyType }
      : { ok: false, reason: 'mismatch', fingerprint, keyType, expected: [want] };
  }
  const name = knownHostsName(host, port);
  const forHost = pin.entries.filter((e) => hostsFieldMatches(e.hosts, name));
  if (forHost.some((e) => e.marker === 'revoked' && e.keyBlob.equals(keyBlob)))
    return { ok: false, reason: 'revoked', fingerprint, keyType, expected: [] };
  const plain = forHost.filter((e) => e.marker === null);
  if (plain.some((e) => e.keyBlob.equals(keyBlob))) return { ok: true, fingerprint, keyType };
  return {
    ok: false,
    reason: plain.length ? 'mismatch' : 'unknown',
    fingerprint,
    keyType,
    expected: plain.map((e) => `${e.keyType} ${sha256Fingerprint(e.keyBlob)}`),
  };
}

/** Host-key algorithms to offer so the server presents a key type we have pinned. */
export function pinnedKeyAlgorithms(pin: HostKeyPin, host: string, port: number): string[] | undefined {
  if (pin.kind !== 'known-hosts') return undefined;
  const name = knownHostsName(host, port);
  const types = new Set(
    pin.entries.filter((e) => e.marker === null && hostsFieldMatches(e.hosts, name)).map((e) => e.keyType),
  );
  if (types.size === 0) return undefined;
  const algos: string[] = [];
  for (const t of types) {
    if (t === 'ssh-rsa') algos.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else algos.push(t);
  }
  return algos;
}
