/**
 * Escaping for the report renderers. Names, tags, command output and error text in a report
 * come from the compromised node or the tailnet: every string is masked for secrets, has its
 * control characters made visible (as on a terminal), and is then escaped for its medium.
 * Renderers pass *every* model string through one of these; none is interpolated raw.
 */
import { redactString } from '../core/redact-secrets.js';
import { terminalSafe, terminalSafeLine } from '../core/terminal-text.js';

// ---- HTML -------------------------------------------------------------------------------

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text or a quoted attribute value. Quotes are escaped too, so the same function is safe in
 * both contexts (the renderer only ever writes double-quoted attributes, and no URLs).
 */
export function html(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '';
  return terminalSafe(redactString(String(text))).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string);
}

/** One line of text: newlines and tabs shown as `\n`/`\t` so a value cannot fake a layout. */
export function htmlLine(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '';
  return html(terminalSafeLine(redactString(String(text))));
}

// ---- Markdown ---------------------------------------------------------------------------

/**
 * Inline Markdown text (CommonMark + GFM). Every ASCII punctuation character that can start
 * markup is backslash-escaped: HTML (`<`), links and images (`[`, `]`, `!`), code (`` ` ``),
 * emphasis (`*`, `_`, `~`), tables (`|`), entities (`&`), math (`$`), attributes (`{}`),
 * and GFM autolinks (`://`, `mailto:`/`xmpp:`, `@` of an address, `www.`). Newlines become
 * `\n`, so a value never starts a block. Colons elsewhere (times, IPv6) stay readable.
 */
export function md(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '';
  return terminalSafeLine(redactString(String(text)))
    .replace(/[\\`*_[\]<>|~#!&${}@]/g, (c) => `\\${c}`)
    .replace(/:(?=\/\/)/g, '\\:')
    .replace(/\b(mailto|xmpp):/gi, '$1\\:')
    .replace(/\b(www)\./gi, '$1\\.');
}

/**
 * An inline code span holding `text` literally. The fence is longer than any backtick run
 * inside; in a table cell a `|` must still be escaped (GFM splits cells before code spans).
 */
export function mdCode(text: string | number | null | undefined, options: { inTable?: boolean } = {}): string {
  if (text === null || text === undefined || text === '') return '';
  let body = terminalSafeLine(redactString(String(text)));
  if (options.inTable) body = body.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  // CommonMark strips one space from each end of a span that has a non-space character and
  // both ends spaced: pad so leading/trailing backticks or spaces survive exactly.
  const pad = /[^ ]/.test(body) && (body.startsWith('`') || body.endsWith('`') || (body.startsWith(' ') && body.endsWith(' '))) ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced code block: nothing inside is interpreted; the fence outlasts any backtick run. */
export function mdFence(text: string, info = ''): string {
  const body = terminalSafe(redactString(text)).replace(/\r/g, '');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${body}${body.endsWith('\n') ? '' : '\n'}${fence}`;
}
