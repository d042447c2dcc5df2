/**
 * Data from a compromised node (hostnames, container names, log lines) is attacker-controlled.
 * Before it reaches a terminal, escape every control character so an ANSI/OSC sequence can
 * neither recolour, retitle nor rewrite what the responder sees.
 */
export function terminalSafe(text: string): string {
  // C0 controls except tab/newline, DEL, C1 controls, and bidi overrides that reorder text.
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Like terminalSafe, but also escapes newlines and tabs: for one-line fields. */
export function terminalSafeLine(text: string): string {
  return terminalSafe(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}
