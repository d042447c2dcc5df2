/**
 * OpenSSH allowed_signers files (ssh-keygen(1) "ALLOWED SIGNERS"): `principals [options] keytype
 * base64 [comment]`, with `namespaces="a,b"`, `cert-authority`, `valid-after`/`valid-before` options.
 * We honour principals (with * and ? patterns), namespaces and the key; certificates are not used.
 */
import { sha256Fingerprint } from './host-keys.js';

export interface AllowedSigner {
  principals: string[];
  namespaces: string[] | null;
  keyType: string;
  keyBlob: Buffer;
  line: number;
}

const KEY_TYPE = /^(?:ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+)$/;

function splitFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && /\s/.test(ch)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

export function parseAllowedSigners(text: string): AllowedSigner[] {
  const out: AllowedSigner[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const f = splitFields(line);
    const principals = (f.shift() ?? '').replace(/^"|"$/g, '').split(',');
    // Options are present when the field after the principals is not a key type; whatever
    // follows the key is a comment (ssh-keygen writes one).
    let options: string[] = [];
    if (f.length > 0 && !KEY_TYPE.test(f[0]!)) options = (f.shift() ?? '').split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
    const [keyType, b64] = f;
    if (!keyType || !b64 || options.includes('cert-authority')) return;
    const ns = options.find((o) => o.toLowerCase().startsWith('namespaces='));
    out.push({
      principals,
      namespaces: ns ? ns.slice('namespaces='.length).replace(/^"|"$/g, '').split(',') : null,
      keyType,
      keyBlob: Buffer.from(b64, 'base64'),
      line: i + 1,
    });
  });
  return out;
}

function patternMatches(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(value);
}

export type SignerCheck = { ok: true; line: number } | { ok: false; reason: string };

export function checkSigner(
  signers: readonly AllowedSigner[],
  identity: string,
  namespace: string,
  keyBlob: Buffer,
): SignerCheck {
  const forIdentity = signers.filter((s) => s.principals.some((p) => patternMatches(p, identity)));
  if (forIdentity.length === 0) return { ok: false, reason: `identity "${identity}" is not in the allowed signers file` };
  const withKey = forIdentity.filter((s) => s.keyBlob.equals(keyBlob));
  if (withKey.length === 0)
    return { ok: false, reason: `the archive was signed by ${sha256Fingerprint(keyBlob)}, which is not a key allowed for "${identity}"` };
  const match = withKey.find((s) => s.namespaces === null || s.namespaces.some((n) => patternMatches(n, namespace)));
  if (!match) return { ok: false, reason: `the key for "${identity}" is not allowed to sign namespace "${namespace}"` };
  return { ok: true, line: match.line };
}
