/**
 * Archive entry names partly come from hostile data (container ids, compose directories,
 * hostnames). A name segment is reduced to a safe, readable file name: no separators, no
 * traversal, no control or bidi characters, bounded length.
 */
const MAX_SEGMENT = 120;

export function sanitizeSegment(raw: string): string {
  let s = raw
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '_')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/\s+/g, '_');
  // "." and ".." and names made of dots only would be traversal or hidden oddities.
  if (/^\.*$/.test(s)) s = s.replace(/\./g, '_') || '_';
  if (s.startsWith('.')) s = `_${s.slice(1)}`;
  if (s.startsWith('-')) s = `_${s.slice(1)}`;
  if (s.length > MAX_SEGMENT) s = s.slice(0, MAX_SEGMENT);
  return s || '_';
}

/** Sanitize each `/`-separated segment of a relative path built from a template. */
export function sanitizeRelativePath(raw: string): string {
  return raw
    .split('/')
    .filter((seg) => seg.length > 0)
    .map(sanitizeSegment)
    .join('/');
}

/** `artifacts/<host>/<collector>/<name>`: the only place evidence entries live. */
export function artifactEntryPath(host: string, collector: string, name: string): string {
  const rel = sanitizeRelativePath(name) || '_';
  return `artifacts/${sanitizeSegment(host)}/${sanitizeSegment(collector)}/${rel}`;
}

/** True when an entry name read from an archive is a plain relative path without traversal. */
export function isSafeEntryPath(name: string): boolean {
  if (!name || name.startsWith('/') || name.includes('\\')) return false;
  if (/[\u0000-\u001f\u007f]/.test(name)) return false;
  return name.split('/').every((seg) => seg !== '..' && seg !== '.' && seg !== '');
}
