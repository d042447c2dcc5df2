import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkippingClock } from '../../../src/core/clock.js';
import { RunStore } from '../../../src/engine/run-store.js';
import { buildRunReport } from '../../../src/report/build-run-report.js';
import { loadRunReportSources } from '../../../src/report/load-run-report.js';
import { renderHtml } from '../../../src/report/render-html.js';
import { renderMarkdown } from '../../../src/report/render-markdown.js';
import { html, md, mdCode, mdFence } from '../../../src/report/escape.js';
import type { RunReport } from '../../../src/report/run-report.js';
import {
  PLANTED_AUTH_KEY,
  writeAbortedRun,
  writeCompletedTaggedRun,
  writeCompletedUserRun,
  writePausedRun,
  type HostileNames,
} from '../../fixtures/report/build-report-runs.js';

const ESC = '\u001b';
const HOSTILE: HostileNames = {
  deviceName: '<script>alert(1)</script>.tail1234.ts.net',
  hostname: '"onmouseover=alert(1) x="',
  tag: 'tag:web](javascript:alert(1))',
  loginName: 'eve|admin@example.com',
  keyDescription: `${ESC}]0;pwned\u0007${ESC}[31mRED | \`tick\``,
  errorText: `\`rm -rf\` | <img src=x onerror=alert(1)> ${ESC}[2J www.evil.example https://evil.example/x`,
  artifactName: '[click](https://evil.example/x)',
};

const reports: Record<string, RunReport> = {};

beforeAll(async () => {
  const home = mkdtempSync(join(tmpdir(), 'tnir-render-'));
  const store = new RunStore(home, new SkippingClock());
  await writeCompletedTaggedRun(home, { runId: 'run-tagged' });
  await writeCompletedUserRun(home, { runId: 'run-user' });
  await writePausedRun(home, { runId: 'run-paused' });
  await writeAbortedRun(home, { runId: 'run-aborted' });
  await writeCompletedTaggedRun(home, { runId: 'run-hostile-tagged', names: HOSTILE, plantSecret: true });
  await writeCompletedUserRun(home, { runId: 'run-hostile-user', names: HOSTILE, plantSecret: true });
  await writeAbortedRun(home, { runId: 'run-hostile-aborted', names: HOSTILE });
  for (const id of ['run-tagged', 'run-user', 'run-paused', 'run-aborted', 'run-hostile-tagged', 'run-hostile-user', 'run-hostile-aborted'])
    reports[id] = buildRunReport(await loadRunReportSources(store, id, new Date('2026-03-02T08:00:00Z')));
});

const get = (id: string) => reports[id] as RunReport;

/** Markdown with fenced blocks and code spans removed (CommonMark rules), escapes kept. */
function outsideCode(markdown: string): string {
  const noFences = markdown.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '');
  let out = '';
  for (let i = 0; i < noFences.length; ) {
    const ch = noFences[i] as string;
    if (ch === '\\') {
      out += noFences.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (ch === '`') {
      const run = /^`+/.exec(noFences.slice(i))?.[0] ?? '`';
      const close = new RegExp(`(?<!\`)${run}(?!\`)`, 'g');
      close.lastIndex = i + run.length;
      const m = close.exec(noFences);
      if (m) {
        i = m.index + run.length;
        continue;
      }
      out += run;
      i += run.length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

describe('Markdown rendering', () => {
  it('has every section and the facts of a completed tagged response', () => {
    const out = renderMarkdown(get('run-tagged'));
    for (const h of ['## What is left to do', '## Timeline (UTC)', '## Actions taken', '## Approvals and overrides', '## Policy changes', '## Identity containment', '## Evidence', '## Eradication', '## Journal integrity'])
      expect(out).toContain(h);
    expect(out).toContain('> **Status: COMPLETED**');
    expect(out).toMatch(/^- \*\*Approved by\*\* bob at 2026-03-01 10:00:\d\d UTC: key matches the device tags; incident INC-42$/m);
    expect(out).toContain('```diff\n--- policy (before)');
    expect(out).toContain('`{"deny":["db-1:5432"],"src":"tag:web"}`');
    expect(out).toContain(`head \`${get('run-tagged').integrity.head}\``);
    expect(out).toMatch(/\| `kWEBCNTRL` \| likely \| 75 \|/);
  });

  it('shows a paused run with the exact resume command, and an aborted run with its override standing out', () => {
    const paused = renderMarkdown(get('run-paused'));
    expect(paused).toContain('> **Status: PAUSED** at step `quarantine` (waiting for an approval)');
    expect(paused).toContain('> Continue with: `tailnet-ir resume run-paused --approve quarantine`');
    expect(paused).toContain('| **pending** |');
    const aborted = renderMarkdown(get('run-aborted'));
    expect(aborted).toContain('> **Status: ABORTED** at step `delete-device`');
    expect(aborted).toContain('> **WARNING: 1 engine invariant override(s).**');
    expect(aborted).toContain('| **INVARIANT OVERRIDE** |');
    expect(aborted).toContain('- **INVARIANT OVERRIDDEN:** SSH to the node is impossible; deleting without evidence per IR lead');
    expect(aborted).toContain('- **Outcome:** FAILED, 2 attempts');
  });

  it('keeps hostile names inert: no HTML, no links, no autolinks, no terminal escapes, tables keep their columns', () => {
    for (const id of ['run-hostile-tagged', 'run-hostile-user', 'run-hostile-aborted']) {
      const out = renderMarkdown(get(id));
      expect(out).not.toContain(ESC);
      expect(out).not.toContain('\u0007');
      expect(out).toContain('\\x1b');
      const prose = outsideCode(out);
      // raw HTML or link syntax outside code would be unescaped < [ ]
      expect(prose).not.toMatch(/(?<!\\)[<[\]]/);
      expect(prose).not.toMatch(/(?<!\\)https?:\/\//);
      expect(prose).not.toMatch(/(?<!\\)www\./i);
      expect(prose).toContain('\\<script\\>');
      // GFM splits a row at every unescaped pipe (code spans included): each row keeps its table's width
      const lines = out.split('\n');
      let width = -1;
      for (const line of lines) {
        if (!line.startsWith('|')) {
          width = -1;
          continue;
        }
        const pipes = (line.match(/(?<!\\)\|/g) ?? []).length;
        if (width < 0) width = pipes;
        expect(pipes, line).toBe(width);
      }
    }
  });

  it('never prints a planted auth key or secret-named field', () => {
    for (const id of ['run-hostile-tagged', 'run-hostile-user']) {
      const out = renderMarkdown(get(id)) + renderHtml(get(id)) + JSON.stringify(get(id));
      expect(out).not.toContain(PLANTED_AUTH_KEY);
      expect(out).not.toMatch(/tskey-auth-[A-Za-z0-9]{6}/);
      expect(out).not.toContain('hunter2-fake');
      expect(out).toContain('tskey-[REDACTED]');
    }
  });
});

const ALLOWED_TAGS = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'div', 'strong', 'span', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li', 'b', 'code', 'pre', 'p']);
const ALLOWED_ATTRS = new Set(['lang', 'charset', 'http-equiv', 'content', 'name', 'class']);

describe('HTML rendering', () => {
  it('is one self-contained page: inline CSS, no script, no external request', () => {
    const out = renderHtml(get('run-tagged'));
    expect(out.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(out).toContain("default-src 'none'");
    expect(out).toContain('@media print');
    expect(out).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=|href=/i);
    expect(out).toContain('<h2>Evidence</h2>');
    expect(out).toContain('tailnet-ir-evidence');
    expect(out).toContain('<span class="ok">hash chain verified</span>');
  });

  it('marks an invariant override in red and shows the paused run resume command', () => {
    const aborted = renderHtml(get('run-aborted'));
    expect(aborted).toContain('<div class="override-box"><span class="override">WARNING: 1 engine invariant override(s).</span>');
    expect(aborted).toContain('<tr class="override">');
    expect(renderHtml(get('run-paused'))).toContain('Continue with: <code>tailnet-ir resume run-paused --approve quarantine</code>');
  });

  it('escapes hostile names in text and attribute contexts: only our tags and attributes exist', () => {
    for (const id of ['run-hostile-tagged', 'run-hostile-user', 'run-hostile-aborted']) {
      const out = renderHtml(get(id));
      expect(out).not.toContain(ESC);
      expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(out).toContain('&quot;onmouseover=alert(1) x=&quot;');
      const body = out.slice(out.indexOf('</style>'));
      for (const m of body.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>/g)) {
        expect(ALLOWED_TAGS.has((m[1] as string).toLowerCase()), m[0]).toBe(true);
        for (const a of (m[2] as string).matchAll(/([^\s=]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g)) {
          expect(ALLOWED_ATTRS.has((a[1] as string).toLowerCase()), m[0]).toBe(true);
          expect(a[2]?.startsWith('"'), m[0]).toBe(true);
        }
      }
    }
  });
});

describe('escape helpers', () => {
  it('html escapes both contexts and shows control characters', () => {
    expect(html(`a<b>&"c'${ESC}[31m`)).toBe('a&lt;b&gt;&amp;&quot;c&#39;\\x1b[31m');
  });
  it('md escapes markup, autolinks and newlines', () => {
    expect(md('[x](javascript:alert(1)) <b> | `c` *e* https://a.example www.b.example\nnext')).toBe(
      '\\[x\\](javascript:alert(1)) \\<b\\> \\| \\`c\\` \\*e\\* https\\://a.example www\\.b.example\\\\nnext',
    );
  });
  it('mdCode picks a fence longer than any backtick run and escapes pipes only in tables', () => {
    expect(mdCode('a`b``c')).toBe('```a`b``c```');
    expect(mdCode('`x')).toBe('`` `x ``');
    expect(mdCode('a|b', { inTable: true })).toBe('`a\\|b`');
    expect(mdCode('a|b')).toBe('`a|b`');
  });
  it('mdFence outlasts backtick fences inside', () => {
    expect(mdFence('```\nx\n````', 'diff')).toBe('`````diff\n```\nx\n````\n`````');
  });
});
