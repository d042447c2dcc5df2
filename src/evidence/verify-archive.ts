/**
 * `verifyArchive`: check the detached SSHSIG signature over the archive file, then stream every
 * entry through SHA-256 and compare with manifest.json. Reports each failure by file name.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { isSafeEntryPath } from './entry-names.js';
import { MANIFEST_PATH, manifestSchema, type EvidenceManifest } from './manifest.js';
import { EVIDENCE_NAMESPACE, decodeSignature, verifyFileSignature } from './sshsig.js';
import { checkSigner, parseAllowedSigners } from './allowed-signers.js';

export interface VerifyOptions {
  /** Detached signature path; default `<archive>.sig`. */
  signaturePath?: string;
  /** Expected namespace; `tailnet-ir-evidence` unless verifying drill output. */
  namespace?: string;
  allowedSigners?: { text: string; identity: string };
  /** Skip signature checks entirely (hashes only). */
  requireSignature?: boolean;
}

export interface VerifyProblem {
  /** The archive entry (or "signature" / "manifest.json") the problem is about. */
  file: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  archive: string;
  signature: { checked: boolean; valid: boolean; signerFingerprint?: string; signerChecked: boolean; identity?: string; namespace?: string };
  entries: number;
  artifactsChecked: number;
  runId?: string;
  problems: VerifyProblem[];
}

interface SeenEntry {
  sha256: string;
  bytes: number;
}

async function readEntries(path: string, problems: VerifyProblem[]): Promise<{ seen: Map<string, SeenEntry>; manifestText?: string }> {
  const seen = new Map<string, SeenEntry>();
  let manifestText: string | undefined;
  const extract = tar.extract();
  let current: string | undefined;
  extract.on('entry', (header, stream, next) => {
    const name = header.name;
    current = name;
    if (!isSafeEntryPath(name)) problems.push({ file: name, problem: 'unsafe entry name (absolute path, traversal or control bytes)' });
    if (header.type !== 'file') problems.push({ file: name, problem: `unexpected entry type ${header.type}` });
    if (seen.has(name)) problems.push({ file: name, problem: 'duplicate entry' });
    const h = createHash('sha256');
    let bytes = 0;
    const keep: Buffer[] = [];
    stream.on('data', (data: unknown) => {
      const c = data as Buffer;
      h.update(c);
      bytes += c.length;
      if (name === MANIFEST_PATH && bytes <= 64 * 1024 * 1024) keep.push(c);
    });
    stream.on('end', () => {
      seen.set(name, { sha256: h.digest('hex'), bytes });
      if (name === MANIFEST_PATH) manifestText = Buffer.concat(keep).toString('utf8');
      current = undefined;
      next();
    });
    stream.on('error', next);
  });
  try {
    await pipeline(createReadStream(path, { highWaterMark: 256 * 1024 }), createGunzip(), extract);
  } catch (err) {
    // Corruption inside compressed data surfaces as a gzip error while reading some entry:
    // name that entry, since its content can no longer be trusted.
    problems.push({
      file: current ?? path,
      problem: `archive is corrupt${current ? ' while reading this entry' : ''}: ${(err as Error).message}`,
    });
  }
  return { seen, ...(manifestText === undefined ? {} : { manifestText }) };
}

export async function verifyArchive(archivePath: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const namespace = options.namespace ?? EVIDENCE_NAMESPACE;
  const report: VerifyReport = {
    ok: false,
    archive: archivePath,
    signature: { checked: false, valid: false, signerChecked: false },
    entries: 0,
    artifactsChecked: 0,
    problems,
  };

  const sigPath = options.signaturePath ?? `${archivePath}.sig`;
  if (options.requireSignature !== false) {
    let armored: string | undefined;
    try {
      armored = await readFile(sigPath, 'utf8');
    } catch {
      problems.push({ file: sigPath, problem: 'signature file is missing' });
    }
    if (armored !== undefined) {
      report.signature.checked = true;
      const check = await verifyFileSignature(archivePath, armored, namespace);
      report.signature.valid = check.valid;
      report.signature.namespace = check.namespace;
      if (check.signerFingerprint) report.signature.signerFingerprint = check.signerFingerprint;
      if (!check.valid) problems.push({ file: sigPath, problem: `signature invalid: ${check.reason ?? 'unknown reason'}` });
      if (options.allowedSigners) {
        report.signature.identity = options.allowedSigners.identity;
        try {
          const res = checkSigner(
            parseAllowedSigners(options.allowedSigners.text),
            options.allowedSigners.identity,
            namespace,
            decodeSignature(armored).publicKey,
          );
          report.signature.signerChecked = res.ok;
          if (!res.ok) problems.push({ file: sigPath, problem: `signer not allowed: ${res.reason}` });
        } catch (err) {
          problems.push({ file: sigPath, problem: `signature unreadable: ${(err as Error).message}` });
        }
      }
    }
  }

  const { seen, manifestText } = await readEntries(archivePath, problems);
  report.entries = seen.size;
  let manifest: EvidenceManifest | undefined;
  if (manifestText === undefined) problems.push({ file: MANIFEST_PATH, problem: 'manifest.json is missing from the archive' });
  else {
    try {
      const parsed = manifestSchema.safeParse(JSON.parse(manifestText));
      if (parsed.success) manifest = parsed.data;
      else problems.push({ file: MANIFEST_PATH, problem: `manifest.json is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
    } catch (err) {
      problems.push({ file: MANIFEST_PATH, problem: `manifest.json is not JSON: ${(err as Error).message}` });
    }
  }

  if (manifest) {
    report.runId = manifest.runId;
    const listed = new Set<string>([MANIFEST_PATH]);
    for (const rec of [...manifest.artifacts, ...manifest.attachments]) {
      listed.add(rec.path);
      const got = seen.get(rec.path);
      if (!got) {
        problems.push({ file: rec.path, problem: 'listed in the manifest but missing from the archive' });
        continue;
      }
      report.artifactsChecked++;
      if (got.sha256 !== rec.sha256)
        problems.push({ file: rec.path, problem: `SHA-256 mismatch: manifest ${rec.sha256}, archive ${got.sha256}` });
      else if (got.bytes !== rec.bytes)
        problems.push({ file: rec.path, problem: `size mismatch: manifest ${rec.bytes} bytes, archive ${got.bytes}` });
    }
    for (const name of seen.keys())
      if (!listed.has(name)) problems.push({ file: name, problem: 'present in the archive but not listed in the manifest' });
  }

  const contentProblems = problems.filter((p) => p.file !== sigPath);
  if (report.signature.checked && !report.signature.valid && manifest && contentProblems.length === 0)
    problems.push({
      file: archivePath,
      problem:
        'the archive file differs from what was signed, yet every entry still matches manifest.json: the change is in the compression framing, not in the evidence content; treat the archive as tampered',
    });
  report.ok = problems.length === 0;
  return report;
}
