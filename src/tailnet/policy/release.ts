/**
 * Release: remove exactly one run's quarantine edits from the policy as it is *now* (others may
 * have edited it since). Each marked region is replaced by the bytes it replaced; a region that
 * was edited inside, lost a marker, or whose removal leaves an invalid policy is a conflict,
 * reported instead of guessed at.
 *
 * Given the current inventory, release also runs the released policy's tests the way the control
 * server will on the write. A test the quarantine parked that concerns only devices no longer in
 * service (deleted, or still carrying the quarantine tag) cannot pass yet: its region stays in the
 * policy, still marked, and is listed in `stillParked`; a later release of the same run restores it.
 * Any other failing test is a conflict: release never proposes a text that fails its own tests.
 */
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { UsageError } from '../../core/errors.js';
import type { ParsedIp } from './addresses.js';
import { compilePolicy, type CompiledPolicy, type Inventory } from './evaluator.js';
import { PolicyInvalidError } from './errors.js';
import { findRegions, isValidRunId, markerPrefix, quarantineTagFor, revertRegions, runsInText, shortHash, type FoundRegion } from './policy-edit.js';
import { parsePolicy } from './policy-model.js';
import { resolveTestDestination, resolveTestSource, runPolicyTests, runSshTests } from './policy-tests.js';
import { unifiedDiff } from './text-diff.js';
import type { PolicyTestFailure } from '../types.js';

export interface ReleaseOptions {
  /**
   * The tailnet's devices and users now. When given, the released policy's tests are run against
   * it (with recorded tagged devices back on their old tags, which release restores first), parked
   * tests whose devices are gone stay parked, and any other failure is a conflict.
   */
  inventory?: Inventory;
}

/** A test the quarantine parked that release leaves out for now (it would fail: its device is gone). */
export interface StillParkedTest {
  /** Region number in the markers (`#n/total`). */
  region: number;
  section: 'tests' | 'sshTests';
  /** The test entry exactly as it stood in the policy. */
  text: string;
  test: unknown;
  reason: string;
}

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
  /** Whether the released policy's tests were run against an inventory (`options.inventory`). */
  testsChecked: boolean;
  /** Parked tests left out of this release (their regions stay marked in `newText`). */
  stillParked: StillParkedTest[];
  newText: string | undefined;
  diff: string;
}

function parkedSection(r: FoundRegion): StillParkedTest['section'] | undefined {
  const p = r.meta?.['parked'];
  return p === 'tests' || p === 'sshTests' ? p : undefined;
}

/** The parked entry's text without the trailing comma the park took with it. */
function entryText(r: FoundRegion): string {
  return r.original.replace(/,\s*$/, '').trim();
}

function failureText(failures: PolicyTestFailure[], limit = 5): string {
  const shown = failures.slice(0, limit).map((f) => `${f.user}: ${(f.errors ?? []).join('; ')}`);
  return failures.length > limit ? `${shown.join(' | ')} | … and ${failures.length - limit} more failing test(s)` : shown.join(' | ');
}

/** The inventory as the write will meet it: recorded tagged devices back on their old tags. */
function inventoryAfterRetagBack(inventory: Inventory, devices: ReleasePlan['devices']): Inventory {
  const back = new Map(devices.filter((d) => d.tags.length > 0).map((d) => [d.nodeId, d.tags]));
  return { users: inventory.users, devices: inventory.devices.map((d) => (back.has(d.nodeId) ? { ...d, tags: [...(back.get(d.nodeId) as string[])] } : d)) };
}

/**
 * Why a failing parked test concerns only devices out of service (none left at its source, or
 * every failing destination); undefined when it fails for any other reason.
 */
function outOfServiceReason(model: CompiledPolicy, qtag: string, section: StillParkedTest['section'], test: unknown): string | undefined {
  const inService = (ip: ParsedIp) => {
    const d = model.deviceAt(ip);
    return d !== undefined && !(d.device.tags ?? []).includes(qtag);
  };
  const where = `no device in service (deleted, or still tagged ${qtag})`;
  const t = (typeof test === 'object' && test !== null ? test : {}) as { src?: unknown; user?: unknown; dst?: unknown };
  const src = String((section === 'tests' ? (t.src ?? t.user) : t.src) ?? '');
  const srcIps = resolveTestSource(model, src);
  if (typeof srcIps === 'string') return srcIps.startsWith('no associated IPs') ? `its source ${src} has ${where}` : undefined;
  if (!srcIps.some(inService)) return `its source ${src} has ${where}`;
  if (section === 'tests') {
    const errors = runPolicyTests(model, [test]).flatMap((f) => f.errors ?? []);
    const gone = errors.map((e) => {
      const m = /^address "(.*)": want: Accept, got: Drop$/.exec(e);
      const dst = m ? resolveTestDestination(model, m[1] as string) : undefined;
      return dst !== undefined && typeof dst !== 'string' && !dst.ips.some(inService) ? (m?.[1] as string) : undefined;
    });
    return errors.length > 0 && gone.every((g) => g !== undefined) ? `its destination(s) ${gone.join(', ')} have ${where}` : undefined;
  }
  const dsts = Array.isArray(t.dst) ? t.dst.map(String) : [];
  const dstGone = dsts.every((sel) => {
    const ips = resolveTestSource(model, sel);
    return typeof ips === 'string' ? ips.startsWith('no associated IPs') : !ips.some(inService);
  });
  return dsts.length > 0 && dstGone ? `its destination(s) ${dsts.join(', ')} have ${where}` : undefined;
}

export function planRelease(currentText: string, run: string, options: ReleaseOptions = {}): ReleasePlan {
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
  const missing = [];
  for (let n = 1; n <= scan.total; n++) if (!present.has(n) && !scan.problems.some((p) => p.startsWith(`region #${n}`))) missing.push(n);
  // Only parked tests left: an earlier release of this run kept them out while their device was gone.
  const partial = scan.regions.length > 0 && missing.length > 0 && scan.regions.every((r) => parkedSection(r) !== undefined);
  if (partial) warnings.push(`run ${run} was released earlier except for ${scan.regions.length} parked test(s); this release is about those`);
  else for (const n of missing) warnings.push(`region #${n} is gone (someone removed the text around it); nothing to restore there`);
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
    testsChecked: options.inventory !== undefined,
    stillParked: [],
    newText: undefined,
    diff: '',
  };
  if (scan.regions.length === 0 && conflicts.length === 0) return { ...base, status: 'nothing-to-release' };
  if (conflicts.length) return { ...base, status: 'conflict' };
  const fullText = revertRegions(currentText, scan.regions);
  try {
    parsePolicy(fullText);
  } catch (e) {
    if (!(e instanceof PolicyInvalidError)) throw e;
    return { ...base, status: 'conflict', conflicts: [`without the quarantine edits the policy would be invalid (${e.message}); something added since depends on them`] };
  }

  let newText = fullText;
  const stillParked: StillParkedTest[] = [];
  const parkedRegions = scan.regions.filter((r) => parkedSection(r) !== undefined);
  if (options.inventory) {
    const qtag = quarantineTagFor(run);
    const inventory = inventoryAfterRetagBack(options.inventory, devices);
    const model = compilePolicy(parsePolicy(fullText), inventory);
    for (const r of parkedRegions) {
      const section = parkedSection(r) as StillParkedTest['section'];
      const text = entryText(r);
      const errors: ParseError[] = [];
      const test: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
      if (errors.length) continue; // not an entry we can judge: restored as it was, and the check below decides
      const failing = section === 'tests' ? runPolicyTests(model, [test]) : runSshTests(model, [test]);
      if (failing.length === 0) continue;
      const reason = outOfServiceReason(model, qtag, section, test);
      if (reason) stillParked.push({ region: r.n, section, text, test, reason });
    }
    const kept = new Set(stillParked.map((s) => s.region));
    newText = revertRegions(currentText, scan.regions.filter((r) => !kept.has(r.n)));
    const released = parsePolicy(newText);
    const releasedModel = compilePolicy(released, inventory);
    const failures = runPolicyTests(releasedModel, released.tests).concat(runSshTests(releasedModel, released.sshTests));
    if (failures.length)
      return {
        ...base,
        status: 'conflict',
        stillParked,
        conflicts: [
          `the released policy would fail its own tests against the current devices, so the control server would reject it: ${failureText(failures)}; ` +
            'only parked tests whose devices are gone are left out automatically; fix these tests (or the devices) and release again',
        ],
      };
    for (const s of stillParked)
      warnings.push(
        `parked ${s.section === 'tests' ? 'test' : 'SSH test'} stays out for now (${s.reason}): ${s.text} — it stays in the policy as marked region #${s.region}; ` +
          `once that device is back (re-enrolled and untagged), run \`tailnet-ir policy release --run ${run}\` again, or put the entry back and delete its two marker comments by hand`,
      );
  } else if (parkedRegions.length)
    warnings.push(
      `restores ${parkedRegions.length} parked test(s) without checking them against the devices: if a device they name is gone or still quarantined, the control server rejects the write (pass the devices and users to check)`,
    );

  const inTailnet = options.inventory ? new Set(options.inventory.devices.map((d) => d.nodeId)) : undefined;
  for (const d of devices)
    warnings.push(
      inTailnet && !inTailnet.has(d.nodeId)
        ? `device ${d.nodeId} (retagged by this quarantine) is no longer in the tailnet: nothing to retag`
        : d.tags.length
        ? `device ${d.nodeId} still carries the quarantine tag: first restore its tags with POST /device/${d.nodeId}/tags {"tags": ${JSON.stringify(d.tags)}} (or delete it), then write the released policy`
        : `device ${d.nodeId} was user-owned; the API cannot untag it: delete and re-enrol it, or re-authenticate it (tailscale up --force-reauth)`,
    );
  const status = newText === currentText ? 'nothing-to-release' : 'ready';
  return { ...base, status, stillParked, newText, diff: newText === currentText ? '' : unifiedDiff(currentText, newText, 'policy (quarantined)', 'policy (released)') };
}
