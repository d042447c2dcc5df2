/**
 * `renderMarkdown(report)`: the run report as GitHub-flavoured Markdown, for an incident ticket
 * or a repository. Every model string goes through `md`, `mdCode` or `mdFence`.
 */
import { md, mdCode, mdFence } from './escape.js';
import type { ActionReport, ApprovalEventReport, ReportTime, RunReport } from './run-report.js';

const t = (time: ReportTime | null | undefined): string => (time ? md(time.utc) : '–');
const list = (xs: readonly string[]): string => (xs.length ? xs.map((x) => md(x)).join(', ') : '–');

/** Run inputs as `name=value` (values already masked for secrets by the builder). */
export function inputLines(inputs: Record<string, unknown>): string[] {
  return Object.entries(inputs).map(([k, v]) => `${k}=${Array.isArray(v) ? v.map(String).join(',') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => (c === '' ? ' ' : c)).join(' | ')} |`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

export const STATUS_LABEL: Record<RunReport['status']['state'], string> = {
  completed: 'COMPLETED',
  paused: 'PAUSED',
  aborted: 'ABORTED',
  'in-progress': 'IN PROGRESS / INTERRUPTED',
  finishing: 'FINISHING',
};

function statusBlock(r: RunReport): string[] {
  const s = r.status;
  const out = [`> **Status: ${STATUS_LABEL[s.state]}**${s.step ? ` at step ${mdCode(s.step)}` : ''}${s.waitingFor === 'approval' ? ' (waiting for an approval)' : ''}`];
  if (s.reason) out.push('>', `> ${md(s.reason)}`);
  if (s.resumeCommand) out.push('>', `> Continue with: ${mdCode(s.resumeCommand)}`);
  return out;
}

function overview(r: RunReport): string[] {
  const tg = r.target;
  const target = [tg.name ? md(tg.name) : md(tg.input ?? '?'), tg.nodeId ? `(${mdCode(tg.nodeId, { inTable: true })})` : ''].filter(Boolean).join(' ');
  const integrity = r.integrity.ok
    ? `hash chain verified: ${r.integrity.entries} entries, head ${mdCode(r.integrity.head, { inTable: true })}`
    : `**BROKEN** at line ${r.integrity.firstBroken?.line ?? '?'}: ${md(r.integrity.firstBroken?.reason ?? '')} (${r.integrity.entries} entries before it verify)`;
  return table(
    ['Field', 'Value'],
    [
      ['Run', mdCode(r.runId, { inTable: true })],
      ['Playbook', `${md(r.playbook.id ?? '?')}${r.playbook.sha256 ? ` (sha256 ${mdCode(r.playbook.sha256.slice(0, 16), { inTable: true })}…)` : ''}`],
      ['Target', target],
      ['Hostname', md(tg.hostname ?? '–')],
      ['Addresses', list(tg.addresses)],
      ['Tags', list(tg.tags)],
      ...(tg.owner && !tg.tags.length ? [['Owner', md(tg.owner)]] : []),
      ...(tg.os ? [['OS', md(tg.os)]] : []),
      ['Inputs', list(inputLines(r.inputs))],
      ['Operators', list(r.operators)],
      ['Started', t(r.status.startedAt)],
      ['Ended', r.status.endedAt ? `${t(r.status.endedAt)} (${md(r.status.state)}, exit ${r.status.exitCode ?? '?'})` : '–'],
      ...(r.status.resumes ? [['Resumed', `${r.status.resumes} time(s)`]] : []),
      ['Journal', integrity],
      ['Report generated', `${t(r.generatedAt)} by tailnet-ir ${md(r.playbook.toolVersion ?? '')}`],
    ],
  );
}

function actionBlock(a: ActionReport): string[] {
  const outcome = { applied: 'applied', 'already-in-effect': 'already in effect (found on resume)', failed: 'FAILED', 'not-finished': 'not finished' }[a.outcome];
  const out = [`### ${md(a.step)}: ${md(a.action)}${a.destructive ? ' (destructive)' : ''}`, ''];
  out.push(`- **Outcome:** ${outcome}${a.appliedAt ? ` at ${t(a.appliedAt)}` : ''}${a.attempts > 1 ? `, ${a.attempts} attempts` : ''}`);
  if (a.error) out.push(`- **Error:** ${md(a.error)}`);
  for (const line of a.summary) out.push(`- **Plan:** ${md(line)}`);
  for (const m of a.mutations) out.push(`- **Change:** ${md(m.kind)} ${mdCode(m.target)}: ${md(m.detail)}`);
  for (const w of a.warnings) out.push(`- **Warning:** ${md(w)}`);
  out.push(
    a.approval
      ? `- **${a.approval.kind === 'approved' ? 'Approved' : 'DENIED'} by** ${md(a.approval.by)} at ${t(a.approval.at)}: ${md(a.approval.reason)}`
      : '- **Approval:** none needed (not destructive, playbook approval auto)',
  );
  if (a.override !== null) out.push(`- **INVARIANT OVERRIDDEN:** ${md(a.override)}`);
  out.push(`- **Plan digest:** ${mdCode(a.planDigest)}`);
  return out;
}

function approvalRow(a: ApprovalEventReport): string[] {
  const decision = { requested: a.answered ? 'requested' : '**pending**', approved: 'approved', denied: '**DENIED**', 'invariant-override': '**INVARIANT OVERRIDE**' }[a.kind];
  const reason = a.kind === 'invariant-override' ? `${md(a.invariant ?? '')}: ${md(a.reason ?? '')}` : md(a.reason ?? '');
  return [t(a.at), mdCode(a.step, { inTable: true }), decision, a.by ? md(a.by) : a.kind === 'invariant-override' ? 'operator (resume option)' : '–', reason, a.planDigest ? mdCode(a.planDigest.slice(0, 16), { inTable: true }) : '–'];
}

function policySection(r: RunReport): string[] {
  if (!r.policyChanges.length) return ['No policy edits were planned.'];
  const out: string[] = [];
  for (const p of r.policyChanges) {
    out.push(`### ${md(p.step)}: ${md(p.kind)}`, '');
    out.push(`- **Outcome:** ${md(p.outcome)}${p.at ? ` at ${t(p.at)}` : ''}${p.etag ? `, new ETag ${mdCode(p.etag)}` : ''}`);
    if (p.testsKnown) {
      out.push(`- **Tests added:** ${p.testsAdded.length || 'none'}`);
      for (const x of p.testsAdded) out.push(`  - ${mdCode(x)}`);
      if (p.testsRemoved.length) {
        out.push(`- **Tests removed:** ${p.testsRemoved.length}`);
        for (const x of p.testsRemoved) out.push(`  - ${mdCode(x)}`);
      }
    } else out.push('- **Tests added:** unknown (the policy texts before and after are not in the run directory)');
    out.push('', mdFence(p.diff || '(empty diff)', 'diff'), '');
  }
  return out;
}

function identitySection(r: RunReport): string[] {
  const id = r.identity;
  if (!id) return ['Triage did not finish: the identity path is unknown.'];
  if (id.kind === 'user') {
    const state = id.suspended ? `suspended at ${t(id.suspendedAt)}` : id.skipped ? `not suspended (step skipped: ${md(id.skipped)})` : '**not suspended**';
    return [`User-owned device. Owner ${md(id.loginName)} (${mdCode(id.userId)}), ${md(id.statusAtTriage)} at triage: ${state}.`];
  }
  const out = [
    `Tagged device (${list(id.tags)}). The API has no link from a device to the key that enrolled it; triage ranked every auth key:`,
    '',
    `- **Proposed for revocation (ranked likely):** ${id.proposedKeyIds.length ? id.proposedKeyIds.map((k) => mdCode(k)).join(', ') : 'none'}`,
    `- **Revoked:** ${id.revokedKeyIds.length ? `${id.revokedKeyIds.map((k) => mdCode(k)).join(', ')} at ${t(id.revokedAt)}` : id.skipped ? `none (step skipped: ${md(id.skipped)})` : '**none**'}`,
    '',
  ];
  out.push(
    ...table(
      ['Key', 'Verdict', 'Score', 'Created', 'Description', 'Evidence'],
      id.candidates.map((c) => [
        mdCode(c.keyId, { inTable: true }),
        md(c.verdict),
        String(c.score),
        md(c.created),
        md(c.description),
        c.evidence.map((e) => `${md(e.criterion)} ${md(e.result)} (${e.weight >= 0 ? '+' : ''}${e.weight}): ${md(e.detail)}`).join('; '),
      ]),
    ),
  );
  return out;
}

function evidenceSection(r: RunReport): string[] {
  const ev = r.evidence;
  if (!ev) return ['No evidence was collected.'];
  const verified = ev.verified === true ? `verified: ${md(ev.verifyDetail ?? '')}` : ev.verified === false ? `**DID NOT VERIFY**: ${md(ev.verifyDetail ?? '')}` : 'not verified yet';
  const out = table(
    ['Field', 'Value'],
    [
      ['Archive', ev.archivePath ? mdCode(ev.archivePath, { inTable: true }) : '–'],
      ['SHA-256', ev.sha256 ? mdCode(ev.sha256, { inTable: true }) : '–'],
      ['Signature', ev.signaturePath ? mdCode(ev.signaturePath, { inTable: true }) : '–'],
      ['Namespace', ev.signature ? mdCode(ev.signature.namespace, { inTable: true }) : '–'],
      ['Signer', ev.signature ? `${mdCode(ev.signature.signerFingerprint, { inTable: true })} (${md(ev.signature.keyType)})` : '–'],
      ['Verification', verified],
      ['Artifacts', `${ev.artifactCount ?? '?'} (${ev.bytes ?? '?'} bytes)`],
      ['Sealed with it', list(ev.sealedExtras)],
      ...(ev.manifest ? [['Collected', `${md(ev.manifest.startedAt)} … ${md(ev.manifest.completedAt)} by ${md(ev.manifest.operator)}${ev.manifest.aborted ? ' (**aborted**)' : ''}`]] : []),
    ],
  );
  if (ev.manifestError) out.push('', `Manifest: ${md(ev.manifestError)}`);
  if (ev.collectorFailures.length) out.push('', '**Collector failures:**', '', ...ev.collectorFailures.map((f) => `- ${md(f)}`));
  const m = ev.manifest;
  if (m) {
    if (m.problemArtifacts.length)
      out.push('', '**Failed, partial or truncated artifacts:**', '', ...table(['Artifact', 'Host', 'Collector', 'Problem', 'Error'], m.problemArtifacts.map((a) => [mdCode(a.path, { inTable: true }), md(a.host), md(a.collector), md(a.problems.join(', ')), md(a.error ?? '')])));
    const notOk = m.collectors.filter((c) => c.status !== 'ok');
    if (notOk.length) out.push('', '**Collectors not fully ok:**', '', ...table(['Host', 'Collector', 'Status', 'Reason'], notOk.map((c) => [md(c.host), md(c.collector), md(c.status), md(c.reason ?? '')])));
    if (m.skipped.length) out.push('', '**Skipped:**', '', ...table(['Host', 'Collector', 'Artifact', 'Reason'], m.skipped.map((s) => [md(s.host), md(s.collector), md(s.name), md(s.reason)])));
    out.push('', '**Hosts:**', '', ...table(['Host', 'Address', 'Host key', 'Connected', 'Error'], m.hosts.map((h) => [md(h.label), md(h.address), h.hostKeyFingerprint ? mdCode(h.hostKeyFingerprint, { inTable: true }) : '–', h.connected ? 'yes' : 'no', md(h.error ?? '')])));
  }
  return out;
}

function eradicationSection(r: RunReport): string[] {
  const e = r.eradication;
  const out = [
    `- **Old device deleted:** ${e.deleted ? `${mdCode(e.deleted.deviceId)} at ${t(e.deleted.at)}` : 'no'}`,
    `- **Rebuild key minted:** ${e.recreated ? `${e.recreated.keyId ? mdCode(e.recreated.keyId) : '(found on resume)'} with ${list(e.recreated.tags)} at ${t(e.recreated.at)}, handed over by ${md(e.recreated.enrolMethod)}: ${md(e.recreated.enrolDetail)}` : 'no'}`,
    `- **New device:** ${e.newDevice ? `${md(e.newDevice.name)} (${mdCode(e.newDevice.nodeId)}), tags ${list(e.newDevice.tags)}, addresses ${list(e.newDevice.addresses)}` : 'none seen'}`,
    `- **Quarantine released:** ${e.quarantineReleased === null ? 'not attempted' : e.quarantineReleased ? 'yes' : 'no'}`,
  ];
  return out;
}

export function renderMarkdown(r: RunReport): string {
  const out: string[] = [`# Incident response report: run ${mdCode(r.runId)}`, '', ...statusBlock(r), '', ...overview(r), ''];
  out.push('## What is left to do', '', ...(r.todo.length ? r.todo.map((x) => `- ${mdTodo(x)}`) : ['Nothing.']), '');
  out.push('## Timeline (UTC)', '', ...table(['Time (UTC)', '#', 'Step', 'Phase', 'What happened'], r.timeline.map((e) => [t(e.time), String(e.seq), e.step ? mdCode(e.step, { inTable: true }) : '', md(e.phase), md(e.summary)])), '');
  out.push('## Actions taken', '');
  if (r.actions.length) for (const a of r.actions) out.push(...actionBlock(a), '');
  else out.push('No change was applied to the tailnet.', '');
  out.push('## Approvals and overrides', '');
  const overrides = r.approvals.filter((a) => a.kind === 'invariant-override');
  if (overrides.length) out.push(`> **WARNING: ${overrides.length} engine invariant override(s).** ${overrides.map((o) => `${mdCode(o.step)}: ${md(o.reason ?? '')}`).join('; ')}`, '');
  out.push(...(r.approvals.length ? table(['Time (UTC)', 'Step', 'Decision', 'By', 'Reason', 'Approval digest'], r.approvals.map(approvalRow)) : ['No approvals were needed.']), '');
  out.push('## Policy changes', '', ...policySection(r), '');
  out.push('## Identity containment', '', ...identitySection(r), '');
  out.push('## Evidence', '', ...evidenceSection(r), '');
  out.push('## Eradication', '', ...eradicationSection(r), '');
  out.push('## Journal integrity', '');
  out.push(
    r.integrity.ok
      ? `The journal's hash chain verifies: ${r.integrity.entries} entries, head ${mdCode(r.integrity.head)}. Anyone can check it with ${mdCode(`tailnet-ir journal verify ${r.runId}`)}.`
      : `**The journal's hash chain is BROKEN** at line ${r.integrity.firstBroken?.line ?? '?'}${r.integrity.firstBroken?.seq ? ` (entry ${r.integrity.firstBroken.seq})` : ''}: ${md(r.integrity.firstBroken?.reason ?? '')}. The ${r.integrity.entries} entries before it verify (head ${mdCode(r.integrity.head)}); everything after is unverified.`,
  );
  if (r.integrity.recoveredTornLines) out.push('', `${r.integrity.recoveredTornLines} torn line(s) from a crash mid-write were cut off and journaled.`);
  return `${out.join('\n')}\n`;
}

/** To-do lines are ours but quote names: escape them, keeping our own `code` spans as code. */
function mdTodo(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? mdCode(part.slice(1, -1)) : md(part)))
    .join('');
}
