/**
 * Byte-preserving, reversible edits of a HuJSON policy. Every change is a *marked region*: the
 * new bytes wrapped in two block comments that name the run, number the region, carry the
 * original bytes (JSON-escaped, `/` escaped so no `*\/` can appear) and a hash of the new bytes:
 *
 *   "src": [/* tailnet-ir quarantine RUN #3/7 begin was="\"*\"" sha=1a2b3c4d *\/"ipset:…"/* tailnet-ir quarantine RUN #3/7 end *\/]
 *
 * Release finds the regions of one run in whatever the text has become, checks each is intact
 * and splices the original bytes back; everything outside the regions is never touched.
 */
import type { Node } from 'jsonc-parser';

export interface MarkedEdit {
  /** Offset in the original text where the region starts. */
  offset: number;
  /** Original bytes replaced (0 for an insertion). */
  length: number;
  /** New bytes (without the markers). */
  text: string;
  /** `prepare` edits go out first; `final` ones (the pinning tests) after the device is retagged. */
  stage: 'prepare' | 'final';
  description: string;
  /** Extra facts release needs (e.g. the device's tags before the retag). */
  meta?: Record<string, unknown>;
}

const RUN_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidRunId(run: string): boolean {
  return RUN_RE.test(run);
}

/**
 * FNV-1a (32 bit) of the text with whitespace outside JSON strings dropped: detects edits
 * inside a region but not a re-indent by a formatter. Not a security boundary.
 */
export function shortHash(text: string): string {
  let h = 0x811c9dc5;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) {
        h = Math.imul(h ^ c, 0x01000193) >>> 0;
        i++;
        h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
        continue;
      }
      if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    h = Math.imul(h ^ c, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The document's line ending, so inserted lines match it. */
export function eol(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** JSON string with `/` escaped: safe inside a block comment. */
export function commentSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/\//g, '\\/');
}

/** The run id as it appears in tag and ipset names (lower case, `-` for anything else). */
export function runSlug(run: string): string {
  return run.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
}

/** The tag a quarantine run retags its targets to. */
export function quarantineTagFor(run: string): string {
  return `tag:quarantine-${runSlug(run)}`;
}

export function markerPrefix(run: string): string {
  return `tailnet-ir quarantine ${run}`;
}

function beginMarker(run: string, n: number, total: number, original: string, inner: string, meta?: Record<string, unknown>): string {
  const was = original === '' ? '' : ` was=${commentSafeJson(original)}`;
  const m = meta ? ` meta=${commentSafeJson(meta)}` : '';
  return `/* ${markerPrefix(run)} #${n}/${total} begin${was}${m} sha=${shortHash(inner)} */`;
}

function endMarker(run: string, n: number, total: number): string {
  return `/* ${markerPrefix(run)} #${n}/${total} end */`;
}

/** Apply a subset of edits (by stage) to the original text; regions are numbered over all edits. */
export function applyMarkedEdits(original: string, edits: readonly MarkedEdit[], run: string, stages: readonly MarkedEdit['stage'][]): string {
  const numbered = edits.map((e, i) => ({ e, n: i + 1 }));
  const chosen = numbered.filter(({ e }) => stages.includes(e.stage)).sort((a, b) => a.e.offset - b.e.offset || a.n - b.n);
  let out = '';
  let pos = 0;
  for (const { e, n } of chosen) {
    if (e.offset < pos) throw new Error(`overlapping policy edits at offset ${e.offset}`);
    const orig = original.slice(e.offset, e.offset + e.length);
    out += original.slice(pos, e.offset);
    out += beginMarker(run, n, edits.length, orig, e.text, e.meta) + e.text + endMarker(run, n, edits.length);
    pos = e.offset + e.length;
  }
  return out + original.slice(pos);
}

// ---- helpers that compute where to put things ----

/** Whitespace at the start of the line containing offset. */
export function indentAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
}

/** Indentation for a new child of an array/object node: the first child's, else parent's + 2. */
export function childIndent(text: string, container: Node): string {
  const first = container.children?.[0];
  const unit = /\t/.test(indentAt(text, container.offset)) ? '\t' : '  ';
  if (first) {
    const ind = indentAt(text, first.offset);
    // Only reuse it when the first child starts its own line.
    const lineStart = text.lastIndexOf('\n', first.offset - 1) + 1;
    if (text.slice(lineStart, first.offset).trim() === '') return ind;
  }
  return indentAt(text, container.offset) + unit;
}

/** An insertion right after the opening `[`/`{` of a container: `\n<indent>ITEM,`. Order-free and valid HuJSON. */
export function insertFirst(text: string, container: Node, item: string, stage: MarkedEdit['stage'], description: string, meta?: Record<string, unknown>): MarkedEdit {
  const ind = childIndent(text, container);
  return { offset: container.offset + 1, length: 0, text: `${eol(text)}${ind}${item},`, stage, description, ...(meta ? { meta } : {}) };
}

/**
 * Replace one array element with zero or more elements (`replacement` is raw JSON text per
 * element). Removing an element also takes its following comma, so `["a", "x", "b"]` becomes
 * `["a", "b"]`; a last element leaves `["a", ]`, which is valid HuJSON.
 */
export function replaceElementRaw(text: string, node: Node, replacement: readonly string[], stage: MarkedEdit['stage'], description: string): MarkedEdit {
  let length = node.length;
  if (replacement.length === 0) {
    const comma = /^[ \t]*,/.exec(text.slice(node.offset + node.length));
    if (comma) length += comma[0].length;
  }
  return { offset: node.offset, length, text: replacement.join(', '), stage, description };
}

export function replaceElement(text: string, node: Node, replacement: readonly string[], stage: MarkedEdit['stage'], description: string): MarkedEdit {
  return replaceElementRaw(text, node, replacement.map((r) => JSON.stringify(r)), stage, description);
}

/** Compact one-line JSON with spaces after `:` and `,` (how people write policy rules). */
export function compactJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(compactJson).join(', ')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}: ${compactJson(v)}`)
      .join(', ')}}`;
  return JSON.stringify(value);
}

// ---- finding and reverting regions ----

export interface FoundRegion {
  n: number;
  total: number;
  beginStart: number;
  beginEnd: number;
  endStart: number;
  endEnd: number;
  original: string;
  sha: string;
  meta: Record<string, unknown> | undefined;
  inner: string;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface RegionScan {
  regions: FoundRegion[];
  problems: string[];
  /** Region count the markers announce (from `#n/total`). */
  total: number;
}

/** Find every marked region of one run in the current text. */
export function findRegions(text: string, run: string): RegionScan {
  const prefix = escapeRe(markerPrefix(run));
  const beginRe = new RegExp(`/\\* ${prefix} #(\\d+)/(\\d+) begin(?: was=("(?:[^"\\\\]|\\\\.)*"))?(?: meta=(\\{(?:[^*]|\\*(?!/))*?\\}))? sha=([0-9a-f]{8}) \\*/`, 'g');
  const endRe = new RegExp(`/\\* ${prefix} #(\\d+)/(\\d+) end \\*/`, 'g');
  const problems: string[] = [];
  const ends = new Map<number, { start: number; end: number }[]>();
  for (const m of text.matchAll(endRe)) {
    const n = Number(m[1]);
    ends.set(n, [...(ends.get(n) ?? []), { start: m.index, end: m.index + m[0].length }]);
  }
  const regions: FoundRegion[] = [];
  let total = 0;
  const seen = new Set<number>();
  for (const m of text.matchAll(beginRe)) {
    const n = Number(m[1]);
    total = Math.max(total, Number(m[2]));
    if (seen.has(n)) {
      problems.push(`region #${n} appears more than once (was the marked text copied?)`);
      continue;
    }
    seen.add(n);
    const beginEnd = m.index + m[0].length;
    const end = (ends.get(n) ?? []).find((e) => e.start >= beginEnd);
    if (!end) {
      problems.push(`region #${n}: its end marker is missing (edited by hand?)`);
      continue;
    }
    let original: string;
    let meta: Record<string, unknown> | undefined;
    try {
      original = m[3] ? (JSON.parse(m[3]) as string) : '';
      meta = m[4] ? (JSON.parse(m[4]) as Record<string, unknown>) : undefined;
    } catch {
      problems.push(`region #${n}: its begin marker is damaged`);
      continue;
    }
    regions.push({ n, total: Number(m[2]), beginStart: m.index, beginEnd, endStart: end.start, endEnd: end.end, original, sha: m[5] as string, meta, inner: text.slice(beginEnd, end.start) });
  }
  for (const n of ends.keys()) if (!seen.has(n)) problems.push(`region #${n}: an end marker without its begin marker`);
  regions.sort((a, b) => a.beginStart - b.beginStart);
  for (let i = 1; i < regions.length; i++)
    if ((regions[i] as FoundRegion).beginStart < (regions[i - 1] as FoundRegion).endEnd) problems.push(`regions #${regions[i - 1]?.n} and #${regions[i]?.n} overlap`);
  return { regions, problems, total };
}

/** Every run that has marked regions in this text. */
export function runsInText(text: string): string[] {
  const runs = new Set<string>();
  for (const m of text.matchAll(/\/\* tailnet-ir quarantine ([A-Za-z0-9][A-Za-z0-9._-]{0,63}) #\d+\/\d+ begin/g)) runs.add(m[1] as string);
  return [...runs];
}

/** Splice every region's original bytes back. Caller has checked `problems` is empty. */
export function revertRegions(text: string, regions: readonly FoundRegion[]): string {
  let out = '';
  let pos = 0;
  for (const r of [...regions].sort((a, b) => a.beginStart - b.beginStart)) {
    out += text.slice(pos, r.beginStart) + r.original;
    pos = r.endEnd;
  }
  return out + text.slice(pos);
}
