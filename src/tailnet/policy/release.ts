/**
 * Release: remove exactly one run's quarantine edits from the policy as it is *now* (others may
 * have edited it since). Each marked region is replaced by the bytes it replaced; a region that
 * was edited inside, lost a marker, or whose removal leaves an invalid policy is a conflict,
 * reported instead of guessed at.
 */
import { UsageError } from '../../core/errors.js';
import { PolicyInvalidError } from './errors.js';
import { findRegions, isValidRunId, markerPrefix, revertRegions, runsInText, shortHash } from './policy-edit.js';
import { parsePolicy } from './policy-model.js';
import { unifiedDiff } from './text-diff.js';

export interface ReleasePlan {
  kind: 'release';
  run: string;
  marker: string;
  status: 'ready' | 'conflict' | 'nothing-to-release';
  conflicts: string[];
  warnings: string[];
  regionsFound: number;
  regionsExpected: number;
  /** Devices the quarantine retagged, with the tags they had before. */
  devices: { nodeId: string; tags: string[] }[];
  /** Tag the quarantine added (the device still carries it until retagged/deleted). */
  newText: string | undefined;
  diff: string;
}

export function planRelease(currentText: string, run: string): ReleasePlan {
  if (!isValidRunId(run)) throw new UsageError(`run id ${JSON.stringify(run)} is not valid`);
  const scan = findRegions(currentText, run);
  const conflicts = [...scan.problems];
  const warnings: string[] = [];
  const devices: ReleasePlan['devices'] = [];
  for (const r of scan.regions) {
    const nested = runsInText(r.inner).filter((x) => x !== run);
    if (nested.length)
      conflicts.push(`region #${r.n} contains edits of quarantine run(s) ${nested.join(', ')} made on top of this one; release ${nested.length > 1 ? 'those runs' : nested[0]} first`);
    else if (shortHash(r.inner) !== r.sha) conflicts.push(`region #${r.n} was edited after the quarantine (its content no longer matches); resolve it by hand`);
    const meta = r.meta as { devices?: { nodeId: string; tags: string[] }[] } | undefined;
    if (meta?.devices) devices.push(...meta.devices);
  }
  const present = new Set(scan.regions.map((r) => r.n));
  for (let n = 1; n <= scan.total; n++)
    if (!present.has(n) && !scan.problems.some((p) => p.startsWith(`region #${n}`)))
      warnings.push(`region #${n} is gone (someone removed the text around it); nothing to restore there`);
  const base: ReleasePlan = {
    kind: 'release',
    run,
    marker: markerPrefix(run),
    status: 'ready',
    conflicts,
    warnings,
    regionsFound: scan.regions.length,
    regionsExpected: scan.total,
    devices,
    newText: undefined,
    diff: '',
  };
  if (scan.regions.length === 0 && conflicts.length === 0) return { ...base, status: 'nothing-to-release' };
  if (conflicts.length) return { ...base, status: 'conflict' };
  const newText = revertRegions(currentText, scan.regions);
  try {
    parsePolicy(newText);
  } catch (e) {
    if (!(e instanceof PolicyInvalidError)) throw e;
    return { ...base, status: 'conflict', conflicts: [`without the quarantine edits the policy would be invalid (${e.message}); something added since depends on them`] };
  }
  for (const d of devices)
    warnings.push(
      d.tags.length
        ? `device ${d.nodeId} still carries the quarantine tag: restore its tags with POST /device/${d.nodeId}/tags {"tags": ${JSON.stringify(d.tags)}} (or delete it)`
        : `device ${d.nodeId} was user-owned; the API cannot untag it: delete and re-enrol it, or re-authenticate it (tailscale up --force-reauth)`,
    );
  return { ...base, newText, diff: unifiedDiff(currentText, newText, 'policy (quarantined)', 'policy (released)') };
}
