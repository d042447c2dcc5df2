/** `tailnet-ir verify`: render verifyArchive() for people and for --json. */
import { readFile, stat } from 'node:fs/promises';
import { emit } from '../cli/output.js';
import { InputFileError, UsageError } from '../core/errors.js';
import { terminalSafeLine } from '../core/terminal-text.js';
import { DRILL_NAMESPACE, EVIDENCE_NAMESPACE } from './sshsig.js';
import { verifyArchive } from './verify-archive.js';

export async function runVerify(
  archive: string,
  opts: { signature?: string; allowedSigners?: string; identity?: string; drill?: boolean; json?: boolean },
): Promise<void> {
  if (Boolean(opts.allowedSigners) !== Boolean(opts.identity))
    throw new UsageError('--allowed-signers and --identity go together.', {
      hint: 'Pass both to check who signed, e.g. --allowed-signers signers --identity ir@example.com.',
    });
  await stat(archive).catch(() => {
    throw new InputFileError(archive, 'archive not found');
  });
  let allowedSigners: { text: string; identity: string } | undefined;
  if (opts.allowedSigners && opts.identity) {
    const text = await readFile(opts.allowedSigners, 'utf8').catch((err: Error) => {
      throw new InputFileError(opts.allowedSigners ?? '', `cannot read: ${err.message}`);
    });
    allowedSigners = { text, identity: opts.identity };
  }
  const namespace = opts.drill ? DRILL_NAMESPACE : EVIDENCE_NAMESPACE;
  const report = await verifyArchive(archive, {
    namespace,
    ...(opts.signature ? { signaturePath: opts.signature } : {}),
    ...(allowedSigners ? { allowedSigners } : {}),
  });
  if (!report.ok) process.exitCode = 1;
  emit(opts.json, report, () => {
    const lines: string[] = [];
    const sig = report.signature;
    if (sig.valid) {
      lines.push(`signature: valid (${namespace}), signed by ${sig.signerFingerprint ?? '?'}`);
      if (sig.signerChecked) lines.push(`signer:    allowed as ${terminalSafeLine(sig.identity ?? '')}`);
      else if (!allowedSigners)
        lines.push('signer:    NOT CHECKED: pass --allowed-signers FILE --identity ID to require a known signer');
    }
    lines.push(`entries:   ${report.entries} in archive, ${report.artifactsChecked} hashes checked against manifest.json`);
    for (const p of report.problems) lines.push(`FAIL ${terminalSafeLine(p.file)}: ${terminalSafeLine(p.problem)}`);
    lines.push(report.ok ? `OK: ${terminalSafeLine(archive)} verified` : `FAILED: ${report.problems.length} problem(s) in ${terminalSafeLine(archive)}`);
    return lines.join('\n');
  });
}
