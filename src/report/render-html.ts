/**
 * `renderHtml(report)`: the run report as one self-contained HTML page: inline CSS, no
 * scripts, no external requests (a Content-Security-Policy forbids them even if a value ever
 * slipped through unescaped), readable on screen and on paper. Every model string goes
 * through `html`/`htmlLine`.
 */
import { html, htmlLine } from './escape.js';
import { STATUS_LABEL, inputLines } from './render-markdown.js';
import type { ActionReport, ApprovalEventReport, ReportTime, RunReport } from './run-report.js';

const CSS = `
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg-soft:#f6f8fa; --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 12px; } h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 28px; } h3 { font-size: 15px; margin: 18px 0 6px; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
code { background: var(--bg-soft); padding: 0 3px; border-radius: 3px; overflow-wrap: anywhere; }
pre { background: var(--bg-soft); border: 1px solid var(--line); padding: 8px 10px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; } th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--bg-soft); font-weight: 600; } table.kv th { width: 170px; }
.banner { border-left: 6px solid var(--muted); background: var(--bg-soft); padding: 10px 14px; margin: 0 0 16px; }
.banner.completed, .banner.finishing { border-color: var(--ok); } .banner.paused, .banner.in-progress { border-color: var(--warn); } .banner.aborted { border-color: var(--bad); }
.banner strong { font-size: 16px; }
.override, .bad { color: var(--bad); font-weight: 600; } .warn { color: var(--warn); font-weight: 600; } .ok { color: var(--ok); font-weight: 600; }
tr.override td { background: #ffebe9; } div.override-box { border: 2px solid var(--bad); background: #ffebe9; padding: 8px 12px; margin: 8px 0; }
ul { margin: 4px 0; padding-left: 22px; } .muted { color: var(--muted); }
.phase, .time, .num, code.step { white-space: nowrap; overflow-wrap: normal; }
.action { border: 1px solid var(--line); padding: 4px 12px 8px; margin: 8px 0; break-inside: avoid; }
@media print { body { padding: 0; max-width: none; font-size: 11px; } h2 { break-after: avoid; } tr, .action, pre { break-inside: avoid; } a { color: inherit; } }
`;

const t = (time: ReportTime | null | undefined): string => (time ? html(time.utc) : '–');
const code = (text: string | null | undefined): string => (text ? `<code>${htmlLine(text)}</code>` : '–');
const list = (xs: readonly string[]): string => (xs.length ? xs.map((x) => htmlLine(x)).join(', ') : '–');

function table(head: readonly string[], rows: readonly (readonly string[])[], rowClass: (i: number) => string = () => ''): string {
  const th = head.map((h) => `<th>${h}</th>`).join('');
  const body = rows.map((r, i) => `<tr${rowClass(i) ? ` class="${rowClass(i)}"` : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function kv(rows: readonly (readonly [string, string])[]): string {
  return `<table class="kv"><tbody>\n${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('\n')}\n</tbody></table>`;
}

function banner(r: RunReport): string {
  const s = r.status;
  const parts = [`<strong>Status: ${STATUS_LABEL[s.state]}</strong>${s.step ? ` at step ${code(s.step)}` : ''}${s.waitingFor === 'approval' ? ' (waiting for an approval)' : ''}`];
  if (s.reason) parts.push(`<div>${htmlLine(s.reason)}</div>`);
  if (s.resumeCommand) parts.push(`<div>Continue with: ${code(s.resumeCommand)}</div>`);
  return `<div class="banner ${html(s.state)}">${parts.join('\n')}</div>`;
}

function overview(r: RunReport): string {
  const tg = r.target;
  const integrity = r.integrity.ok
    ? `<span class="ok">hash chain verified</span>: ${r.integrity.entries} entries, head ${code(r.integrity.head)}`
    : `<span class="bad">BROKEN</span> at line ${r.integrity.firstBroken?.line ?? '?'}: ${htmlLine(r.integrity.firstBroken?.reason ?? '')} (${r.integrity.entries} entries before it verify)`;
  const rows: [string, string][] = [
    ['Run', code(r.runId)],
    ['Playbook', `${htmlLine(r.playbook.id ?? '?')}${r.playbook.sha256 ? ` <span class="muted">(sha256 ${code(r.playbook.sha256.slice(0, 16))}…)</span>` : ''}`],
    ['Target', `${htmlLine(tg.name ?? tg.input ?? '?')}${tg.nodeId ? ` (${code(tg.nodeId)})` : ''}`],
    ['Hostname', htmlLine(tg.hostname ?? '–')],
    ['Addresses', list(tg.addresses)],
    ['Tags', list(tg.tags)],
  ];
  if (tg.owner && !tg.tags.length) rows.push(['Owner', htmlLine(tg.owner)]);
  if (tg.os) rows.push(['OS', htmlLine(tg.os)]);
  rows.push(['Inputs', list(inputLines(r.inputs))], ['Operators', list(r.operators)], ['Started', t(r.status.startedAt)]);
  rows.push(['Ended', r.status.endedAt ? `${t(r.status.endedAt)} (${html(r.status.state)}, exit ${r.status.exitCode ?? '?'})` : '–']);
  if (r.status.resumes) rows.push(['Resumed', `${r.status.resumes} time(s)`]);
  rows.push(['Journal', integrity], ['Report generated', `${t(r.generatedAt)} by tailnet-ir ${htmlLine(r.playbook.toolVersion ?? '')}`]);
  return kv(rows);
}

/** To-do lines are ours but quote names: escape them, keeping our own `code` spans as code. */
function todoHtml(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? code(part.slice(1, -1)) : htmlLine(part)))
    .join('');
}

function actionHtml(a: ActionReport): string {
  const outcome = {
    applied: '<span class="ok">applied</span>',
    'already-in-effect': '<span class="ok">already in effect</span> (found on resume)',
    failed: '<span class="bad">FAILED</span>',
    'not-finished': '<span class="warn">not finished</span>',
  }[a.outcome];
  const items: string[] = [`<li><b>Outcome:</b> ${outcome}${a.appliedAt ? ` at ${t(a.appliedAt)}` : ''}${a.attempts > 1 ? `, ${a.attempts} attempts` : ''}</li>`];
  if (a.error) items.push(`<li><b>Error:</b> ${htmlLine(a.error)}</li>`);
  for (const l of a.summary) items.push(`<li><b>Plan:</b> ${htmlLine(l)}</li>`);
  for (const m of a.mutations) items.push(`<li><b>Change:</b> ${htmlLine(m.kind)} ${code(m.target)}: ${htmlLine(m.detail)}</li>`);
  for (const w of a.warnings) items.push(`<li class="warn"><b>Warning:</b> ${htmlLine(w)}</li>`);
  items.push(
    a.approval
      ? `<li><b>${a.approval.kind === 'approved' ? 'Approved' : '<span class="bad">DENIED</span>'} by</b> ${htmlLine(a.approval.by)} at ${t(a.approval.at)}: ${htmlLine(a.approval.reason)}</li>`
      : '<li><b>Approval:</b> none needed (not destructive, playbook approval auto)</li>',
  );
  if (a.override !== null) items.push(`<li class="override">INVARIANT OVERRIDDEN: ${htmlLine(a.override)}</li>`);
  items.push(`<li><b>Plan digest:</b> ${code(a.planDigest)}</li>`);
  return `<div class="action"><h3>${htmlLine(a.step)}: ${htmlLine(a.action)}${a.destructive ? ' <span class="warn">(destructive)</span>' : ''}</h3>\n<ul>\n${items.join('\n')}\n</ul></div>`;
}

function approvalRow(a: ApprovalEventReport): string[] {
  const decision = {
    requested: a.answered ? 'requested' : '<span class="warn">pending</span>',
    approved: 'approved',
    denied: '<span class="bad">DENIED</span>',
    'invariant-override': '<span class="override">INVARIANT OVERRIDE</span>',
  }[a.kind];
  const reason = a.kind === 'invariant-override' ? `${htmlLine(a.invariant ?? '')}: ${htmlLine(a.reason ?? '')}` : htmlLine(a.reason ?? '');
  const by = a.by ? htmlLine(a.by) : a.kind === 'invariant-override' ? 'operator (resume option)' : '–';
  return [`<span class="time">${t(a.at)}</span>`, `<code class="step">${htmlLine(a.step)}</code>`, decision, by, reason, a.planDigest ? `<code class="step">${htmlLine(a.planDigest.slice(0, 16))}</code>` : '–'];
}

function policyHtml(r: RunReport): string {
  if (!r.policyChanges.length) return '<p>No policy edits were planned.</p>';
  return r.policyChanges
    .map((p) => {
      const items = [`<li><b>Outcome:</b> ${html(p.outcome)}${p.at ? ` at ${t(p.at)}` : ''}${p.etag ? `, new ETag ${code(p.etag)}` : ''}</li>`];
      if (p.testsKnown) {
        items.push(`<li><b>Tests added:</b> ${p.testsAdded.length || 'none'}${p.testsAdded.length ? `<ul>${p.testsAdded.map((x) => `<li>${code(x)}</li>`).join('')}</ul>` : ''}</li>`);
        if (p.testsRemoved.length) items.push(`<li><b>Tests removed:</b> ${p.testsRemoved.length}<ul>${p.testsRemoved.map((x) => `<li>${code(x)}</li>`).join('')}</ul></li>`);
      } else items.push('<li><b>Tests added:</b> unknown (the policy texts before and after are not in the run directory)</li>');
      return `<h3>${htmlLine(p.step)}: ${html(p.kind)}</h3>\n<ul>${items.join('\n')}</ul>\n<pre>${html(p.diff || '(empty diff)')}</pre>`;
    })
    .join('\n');
}

function identityHtml(r: RunReport): string {
  const id = r.identity;
  if (!id) return '<p>Triage did not finish: the identity path is unknown.</p>';
  if (id.kind === 'user') {
    const state = id.suspended ? `<span class="ok">suspended</span> at ${t(id.suspendedAt)}` : id.skipped ? `not suspended (step skipped: ${htmlLine(id.skipped)})` : '<span class="bad">not suspended</span>';
    return `<p>User-owned device. Owner ${htmlLine(id.loginName)} (${code(id.userId)}), ${htmlLine(id.statusAtTriage)} at triage: ${state}.</p>`;
  }
  const revoked = id.revokedKeyIds.length ? `${id.revokedKeyIds.map((k) => code(k)).join(', ')} at ${t(id.revokedAt)}` : id.skipped ? `none (step skipped: ${htmlLine(id.skipped)})` : '<span class="bad">none</span>';
  const rows = id.candidates.map((c) => [
    code(c.keyId),
    htmlLine(c.verdict),
    String(c.score),
    htmlLine(c.created),
    htmlLine(c.description),
    `<ul>${c.evidence.map((e) => `<li>${htmlLine(e.criterion)} ${htmlLine(e.result)} (${e.weight >= 0 ? '+' : ''}${e.weight}): ${htmlLine(e.detail)}</li>`).join('')}</ul>`,
  ]);
  return [
    `<p>Tagged device (${list(id.tags)}). The API has no link from a device to the key that enrolled it; triage ranked every auth key:</p>`,
    `<ul><li><b>Proposed for revocation (ranked likely):</b> ${id.proposedKeyIds.length ? id.proposedKeyIds.map((k) => code(k)).join(', ') : 'none'}</li><li><b>Revoked:</b> ${revoked}</li></ul>`,
    table(['Key', 'Verdict', 'Score', 'Created', 'Description', 'Evidence'], rows),
  ].join('\n');
}

function evidenceHtml(r: RunReport): string {
  const ev = r.evidence;
  if (!ev) return '<p>No evidence was collected.</p>';
  const verified = ev.verified === true ? `<span class="ok">verified</span>: ${htmlLine(ev.verifyDetail ?? '')}` : ev.verified === false ? `<span class="bad">DID NOT VERIFY</span>: ${htmlLine(ev.verifyDetail ?? '')}` : '<span class="warn">not verified yet</span>';
  const rows: [string, string][] = [
    ['Archive', code(ev.archivePath)],
    ['SHA-256', code(ev.sha256)],
    ['Signature', code(ev.signaturePath)],
    ['Namespace', code(ev.signature?.namespace)],
    ['Signer', ev.signature ? `${code(ev.signature.signerFingerprint)} (${htmlLine(ev.signature.keyType)})` : '–'],
    ['Verification', verified],
    ['Artifacts', `${ev.artifactCount ?? '?'} (${ev.bytes ?? '?'} bytes)`],
    ['Sealed with it', list(ev.sealedExtras)],
  ];
  const m = ev.manifest;
  if (m) rows.push(['Collected', `${htmlLine(m.startedAt)} … ${htmlLine(m.completedAt)} by ${htmlLine(m.operator)}${m.aborted ? ' <span class="bad">(aborted)</span>' : ''}`]);
  const out = [kv(rows)];
  if (ev.manifestError) out.push(`<p class="warn">Manifest: ${htmlLine(ev.manifestError)}</p>`);
  if (ev.collectorFailures.length) out.push(`<h3>Collector failures</h3><ul>${ev.collectorFailures.map((f) => `<li>${htmlLine(f)}</li>`).join('')}</ul>`);
  if (m) {
    if (m.problemArtifacts.length)
      out.push('<h3>Failed, partial or truncated artifacts</h3>', table(['Artifact', 'Host', 'Collector', 'Problem', 'Error'], m.problemArtifacts.map((a) => [code(a.path), htmlLine(a.host), htmlLine(a.collector), htmlLine(a.problems.join(', ')), htmlLine(a.error ?? '')])));
    const notOk = m.collectors.filter((c) => c.status !== 'ok');
    if (notOk.length) out.push('<h3>Collectors not fully ok</h3>', table(['Host', 'Collector', 'Status', 'Reason'], notOk.map((c) => [htmlLine(c.host), htmlLine(c.collector), htmlLine(c.status), htmlLine(c.reason ?? '')])));
    if (m.skipped.length) out.push('<h3>Skipped</h3>', table(['Host', 'Collector', 'Artifact', 'Reason'], m.skipped.map((s) => [htmlLine(s.host), htmlLine(s.collector), htmlLine(s.name), htmlLine(s.reason)])));
    out.push('<h3>Hosts</h3>', table(['Host', 'Address', 'Host key', 'Connected', 'Error'], m.hosts.map((h) => [htmlLine(h.label), htmlLine(h.address), code(h.hostKeyFingerprint), h.connected ? 'yes' : '<span class="bad">no</span>', htmlLine(h.error ?? '')])));
  }
  return out.join('\n');
}

function eradicationHtml(r: RunReport): string {
  const e = r.eradication;
  return kv([
    ['Old device deleted', e.deleted ? `${code(e.deleted.deviceId)} at ${t(e.deleted.at)}` : 'no'],
    ['Rebuild key minted', e.recreated ? `${e.recreated.keyId ? code(e.recreated.keyId) : '(found on resume)'} with ${list(e.recreated.tags)} at ${t(e.recreated.at)}, handed over by ${htmlLine(e.recreated.enrolMethod)}: ${htmlLine(e.recreated.enrolDetail)}` : 'no'],
    ['New device', e.newDevice ? `${htmlLine(e.newDevice.name)} (${code(e.newDevice.nodeId)}), tags ${list(e.newDevice.tags)}, addresses ${list(e.newDevice.addresses)}` : 'none seen'],
    ['Quarantine released', e.quarantineReleased === null ? 'not attempted' : e.quarantineReleased ? 'yes' : '<span class="warn">no</span>'],
  ]);
}

function integrityHtml(r: RunReport): string {
  const i = r.integrity;
  const torn = i.recoveredTornLines ? `<p>${i.recoveredTornLines} torn line(s) from a crash mid-write were cut off and journaled.</p>` : '';
  return i.ok
    ? `<p><span class="ok">The journal's hash chain verifies</span>: ${i.entries} entries, head ${code(i.head)}. Anyone can check it with ${code(`tailnet-ir journal verify ${r.runId}`)}.</p>${torn}`
    : `<p><span class="bad">The journal's hash chain is BROKEN</span> at line ${i.firstBroken?.line ?? '?'}${i.firstBroken?.seq ? ` (entry ${i.firstBroken.seq})` : ''}: ${htmlLine(i.firstBroken?.reason ?? '')}. The ${i.entries} entries before it verify (head ${code(i.head)}); everything after is unverified.</p>${torn}`;
}

export function renderHtml(r: RunReport): string {
  const overrides = r.approvals.filter((a) => a.kind === 'invariant-override');
  const body = [
    `<h1>Incident response report: run ${code(r.runId)}</h1>`,
    banner(r),
    overview(r),
    '<h2>What is left to do</h2>',
    r.todo.length ? `<ul>${r.todo.map((x) => `<li>${todoHtml(x)}</li>`).join('\n')}</ul>` : '<p>Nothing.</p>',
    '<h2>Timeline (UTC)</h2>',
    table(
      ['Time (UTC)', '#', 'Step', 'Phase', 'What happened'],
      r.timeline.map((e) => [`<span class="time">${t(e.time)}</span>`, `<span class="num">${e.seq}</span>`, e.step ? `<code class="step">${htmlLine(e.step)}</code>` : '', `<span class="phase">${html(e.phase)}</span>`, htmlLine(e.summary)]),
      (i) => (r.timeline[i]?.phase === 'override' ? 'override' : ''),
    ),
    '<h2>Actions taken</h2>',
    r.actions.length ? r.actions.map(actionHtml).join('\n') : '<p>No change was applied to the tailnet.</p>',
    '<h2>Approvals and overrides</h2>',
    overrides.length
      ? `<div class="override-box"><span class="override">WARNING: ${overrides.length} engine invariant override(s).</span><ul>${overrides.map((o) => `<li>${code(o.step)}: ${htmlLine(o.reason ?? '')}</li>`).join('')}</ul></div>`
      : '',
    r.approvals.length
      ? table(['Time (UTC)', 'Step', 'Decision', 'By', 'Reason', 'Approval digest'], r.approvals.map(approvalRow), (i) => (r.approvals[i]?.kind === 'invariant-override' ? 'override' : ''))
      : '<p>No approvals were needed.</p>',
    '<h2>Policy changes</h2>',
    policyHtml(r),
    '<h2>Identity containment</h2>',
    identityHtml(r),
    '<h2>Evidence</h2>',
    evidenceHtml(r),
    '<h2>Eradication</h2>',
    eradicationHtml(r),
    '<h2>Journal integrity</h2>',
    integrityHtml(r),
  ].join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tailnet-ir report ${htmlLine(r.runId)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
