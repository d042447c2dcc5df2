/**
 * Reads one run directory into `RunReportSources` for the pure builder: run.json (through the
 * run store), the journal and its chain check, report.json, the policy texts, and the evidence
 * archive's manifest and signature when the archive is still where the journal says. Read-only:
 * takes no lock and never repairs anything, so a report can be produced while a run is driven.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { journalEntrySchema, type JournalEntry } from '../core/journal-entry.js';
import { NotFoundError } from '../core/errors.js';
import type { RunRecord } from '../core/run.js';
import type { RunStore } from '../engine/run-store.js';
import { verifyJournalFile } from '../engine/journal.js';
import { MANIFEST_PATH, manifestSchema, type EvidenceManifest } from '../evidence/manifest.js';
import { decodeSignature } from '../evidence/sshsig.js';
import { keyTypeOfBlob, sha256Fingerprint } from '../evidence/host-keys.js';
import type { RunReportSources, SignatureInfo } from './build-run-report.js';
import { evidenceLocation } from '../engine/evidence-location.js';

const POLICY_TEXTS = ['policy/before.hujson', 'policy/quarantine-after.hujson', 'policy/release-after.hujson'] as const;
/** A manifest is small; anything bigger is not one we wrote. */
const MANIFEST_MAX_BYTES = 32 * 1024 * 1024;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Journal lines that are entries; a broken line is reported by the chain check, not here. */
export function parseJournalLines(text: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const parsed = journalEntrySchema.safeParse(JSON.parse(line));
      if (parsed.success) out.push(parsed.data);
    } catch {
      // not JSON: the chain check names the line
    }
  }
  return out;
}

/** Stream the archive (gzip'd tar) and return its manifest.json, validated. */
export async function readArchiveManifest(archivePath: string): Promise<EvidenceManifest> {
  let text: string | undefined;
  let tooBig = false;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    if (header.name !== MANIFEST_PATH) {
      stream.on('end', next);
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    stream.on('data', (data: unknown) => {
      const c = data as Buffer;
      bytes += c.length;
      if (bytes <= MANIFEST_MAX_BYTES) chunks.push(c);
      else tooBig = true;
    });
    stream.on('end', () => {
      if (!tooBig) text = Buffer.concat(chunks).toString('utf8');
      next();
    });
  });
  await pipeline(createReadStream(archivePath), createGunzip(), extract);
  if (tooBig) throw new Error(`${MANIFEST_PATH} in the archive is larger than ${MANIFEST_MAX_BYTES} bytes`);
  if (text === undefined) throw new Error(`the archive has no ${MANIFEST_PATH}`);
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${MANIFEST_PATH} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** Namespace and signer of a detached SSHSIG file (not a verification: the journal has that). */
export function signatureInfo(armored: string): SignatureInfo {
  const sig = decodeSignature(armored);
  return { namespace: sig.namespace, signerFingerprint: sha256Fingerprint(sig.publicKey), keyType: keyTypeOfBlob(sig.publicKey) };
}

/** The run store's NotFound, with the most recent run ids to pick from. */
async function unknownRun(store: RunStore, id: string, cause: unknown): Promise<NotFoundError> {
  const recent = (await store.listIds()).slice(-5).reverse();
  return new NotFoundError('run', id, {
    cause,
    hint: recent.length
      ? `recent runs under ${store.home}: ${recent.join(', ')} (\`tailnet-ir runs list\` shows all)`
      : `there are no runs under ${store.home}; set TAILNET_IR_HOME if the runs live elsewhere`,
  });
}

/** Read a run directory through the run store (unknown run: exit 2 naming recent runs). */
export async function loadRunReportSources(store: RunStore, runId: string, generatedAt: Date): Promise<RunReportSources> {
  let record: RunRecord;
  try {
    record = await store.readRecord(runId);
  } catch (e) {
    if (e instanceof NotFoundError || (e as { code?: string }).code === 'usage') throw await unknownRun(store, runId, e);
    throw e;
  }
  return loadRunReportSourcesFromDir(store.runDir(runId), runId, generatedAt, record);
}

/**
 * Read a run directory given its path: for code that runs inside a run and has no store
 * (the `write-report` activity: the directory is `dirname(artifacts.journalPath())`).
 */
export async function loadRunReportSourcesFromDir(dir: string, runId: string, generatedAt: Date, record: RunRecord | null = null): Promise<RunReportSources> {
  const journalPath = join(dir, 'journal.jsonl');
  const journalText = (await readOptional(journalPath)) ?? '';
  const entries = parseJournalLines(journalText);
  const chain = journalText ? await verifyJournalFile(journalPath) : { ok: true, entries: 0, head: '0'.repeat(64) };

  const reportText = await readOptional(join(dir, 'report.json'));
  let reportJson: unknown;
  try {
    reportJson = reportText === undefined ? undefined : (JSON.parse(reportText) as unknown);
  } catch {
    reportJson = undefined; // the journal has every output too
  }

  const policyTexts: Record<string, string> = {};
  for (const name of POLICY_TEXTS) {
    const text = await readOptional(join(dir, name));
    if (text !== undefined) policyTexts[name] = text;
  }

  const { archive, signature } = evidenceLocation(entries);
  let manifest: EvidenceManifest | null = null;
  let manifestError: string | null = null;
  let sig: SignatureInfo | null = null;
  if (archive) {
    try {
      manifest = await readArchiveManifest(archive);
    } catch (e) {
      manifestError = `could not read the manifest from ${archive}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the archive is not there any more' : (e as Error).message}`;
    }
    const armored = await readOptional(signature ?? `${archive}.sig`).catch(() => undefined);
    if (armored !== undefined) {
      try {
        sig = signatureInfo(armored);
      } catch {
        sig = null; // an unreadable signature shows as "no signature info"; verify-evidence judged it
      }
    }
  }

  return { runId, record, entries, chain, reportJson, policyTexts, manifest, manifestError, signature: sig, generatedAt };
}
