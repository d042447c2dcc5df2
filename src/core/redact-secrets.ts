/**
 * Secrets must never reach journals, reports or archives. This pass runs on everything before
 * it is written: strings shaped like Tailscale keys (`tskey-…`) and private-key blocks are
 * masked wherever they appear, and fields whose name says "secret" are masked whole.
 */

export const REDACTED = '[REDACTED]';

/** Anything shaped like a Tailscale key (auth, API, OAuth client secret). */
export const TAILSCALE_KEY = /tskey-[A-Za-z0-9_-]+/g;
const pemPrivateKey = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;
// Credentials after an auth scheme: long and containing a digit, so prose ("Basic networking")
// is left alone while real tokens and base64 user:password pairs are masked.
const bearer = /\b(Bearer|Basic)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{16,}/g;
const authorizationHeader = /\b(Authorization:\s*(?:Bearer|Basic))\s+[A-Za-z0-9._~+/=-]+/gi;

const secretFieldNames = new Set(['key', 'secret', 'token', 'password', 'passwd', 'passphrase', 'authkey', 'auth_key', 'apikey', 'api_key', 'authorization', 'privatekey', 'private_key', 'ts_authkey', 'cookie']);

export function isSecretFieldName(name: string): boolean {
  const n = name.toLowerCase();
  return secretFieldNames.has(n) || /(secret|password|passphrase|token)$/.test(n) || /^(client|api|auth|access|refresh)[-_]?(secret|token|key)$/.test(n);
}

export function redactString(text: string): string {
  return text
    .replace(pemPrivateKey, `${REDACTED} private key`)
    .replace(TAILSCALE_KEY, `tskey-${REDACTED}`)
    .replace(authorizationHeader, `$1 ${REDACTED}`)
    .replace(bearer, `$1 ${REDACTED}`);
}

/** A deep copy of `value` with secrets masked. Never mutates the input. */
export function redactSecrets<T>(value: T): T {
  return redact(value, 0) as T;
}

function redact(value: unknown, depth: number): unknown {
  if (depth > 64) return REDACTED; // absurd nesting: refuse rather than recurse forever
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretFieldName(k) && v !== null && v !== undefined && v !== '' && typeof v !== 'boolean' ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}
