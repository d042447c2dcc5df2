/**
 * Line-by-line secret redaction for configuration files copied off a node (compose files,
 * .env). Values of secret-looking keys and anything shaped like a Tailscale key are replaced,
 * so auth keys never reach the archive. The redacted text is what gets hashed and archived.
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';
import { REDACTED, TAILSCALE_KEY } from '../core/redact-secrets.js';

const SECRET_KEY = /(AUTH_?KEY|AUTHKEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS\b|API_?KEY|PRIVATE|CREDENTIAL|CLIENT_SECRET)/i;

export function redactLine(line: string): string {
  let out = line.replace(TAILSCALE_KEY, `tskey-${REDACTED}`);
  // KEY=value (.env, compose `environment:` list items like `- TS_AUTHKEY=…`)
  out = out.replace(/^(\s*(?:-\s*)?(?:export\s+)?)([A-Za-z_][A-Za-z0-9_.-]*)(\s*=\s*)(.*)$/, (whole, pre: string, key: string, eq: string, value: string) =>
    SECRET_KEY.test(key) && value.trim() !== '' && !/^\$\{[^}]*\}$/.test(value.trim()) ? `${pre}${key}${eq}${REDACTED}` : whole,
  );
  // "KEY=value" inside JSON strings (docker/podman inspect `Env` arrays)
  out = out.replace(/"([A-Za-z_][A-Za-z0-9_.-]*)=((?:[^"\\]|\\.)*)"/g, (whole, key: string, value: string) =>
    SECRET_KEY.test(key) && value !== '' ? `"${key}=${REDACTED}"` : whole,
  );
  // KEY=value anywhere else on a line (command lines, `env X=…`, error messages)
  out = out.replace(/(^|[\s'"(,;])([A-Za-z_][A-Za-z0-9_.-]*)=(?!\[REDACTED\])([^\s'",;)]+)/g, (whole, pre: string, key: string, value: string) =>
    SECRET_KEY.test(key) && !/^\$\{[^}]*\}$/.test(value) ? `${pre}${key}=${REDACTED}` : whole,
  );
  // --auth-key=… / --authkey … on command lines (processes)
  out = out.replace(/(--auth-?key[= ])(?!file:)(\S+)/gi, (_w, flag: string) => `${flag}${REDACTED}`);
  // key: value (compose `environment:` maps)
  out = out.replace(/^(\s*)([A-Za-z_][A-Za-z0-9_.-]*)(\s*:\s+)(.+)$/, (whole, pre: string, key: string, colon: string, value: string) =>
    SECRET_KEY.test(key) && !/^["']?\$\{[^}]*\}["']?$/.test(value.trim()) ? `${pre}${key}${colon}${REDACTED}` : whole,
  );
  return out;
}

const MAX_LINE = 1 << 20;

/** Streaming redaction; lines longer than 1 MiB are emitted in pieces (tskey patterns still caught). */
export class SecretRedactor extends Transform {
  // Decodes across chunk boundaries: a multi-byte character split between two SSH packets must
  // not turn into U+FFFD in the archived (hashed, signed) bytes.
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  redactions = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.pending += this.decoder.write(chunk);
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    let out = lines.length ? `${lines.map((l) => this.redact(l)).join('\n')}\n` : '';
    if (this.pending.length > MAX_LINE) {
      // An over-long line goes out in pieces, without inventing a newline, cut where no secret
      // can straddle the cut (the next piece sees any key that starts near the end whole).
      const cut = safeCut(this.pending, this.pending.length - CUT_OVERLAP);
      out += this.redact(this.pending.slice(0, cut));
      this.pending = this.pending.slice(cut);
    }
    if (out) this.push(out);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.pending += this.decoder.end();
    if (this.pending) this.push(this.redact(this.pending));
    cb();
  }

  private redact(line: string): string {
    const r = redactLine(line);
    if (r !== line) this.redactions++;
    return r;
  }
}

const CUT_OVERLAP = 4096;

/** A cut at or before `at` that falls on whitespace or a quote, so no key is split. */
function safeCut(text: string, at: number): number {
  for (let i = at; i > at - CUT_OVERLAP && i > 0; i--) if (/[\s"',;]/.test(text[i - 1]!)) return i;
  // No separator nearby (binary-like data): at least never cut inside a Tailscale key.
  const key = text.lastIndexOf('tskey-', at);
  return key > at - CUT_OVERLAP && key > 0 ? key : at;
}
