import { MANIFEST_SCHEMA, type EvidenceManifest } from '../../src/evidence/manifest.js';

/** A minimal valid manifest listing the given artifacts (for archive tests). */
export function manifestFor(artifacts: { path: string; sha256: string; bytes: number }[]): EvidenceManifest {
  return {
    schema: MANIFEST_SCHEMA,
    runId: 'run-test',
    operator: 'tester',
    tool: { name: 'tailnet-ir', version: '0.0.0' },
    namespace: 'tailnet-ir-evidence',
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:00:01.000Z',
    target: { addresses: [] },
    hosts: [],
    collectors: [],
    artifacts: artifacts.map((a) => ({
      ...a,
      host: 'h',
      collector: 'c',
      name: a.path,
      argv: ['cat'],
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: '2026-01-01T00:00:00.500Z',
      exitCode: 0,
      signal: null,
      stderrExcerpt: '',
      truncated: false,
      partial: false,
      timedOut: false,
      sensitive: false,
      redacted: false,
    })),
    attachments: [],
    skipped: [],
    aborted: false,
  };
}
