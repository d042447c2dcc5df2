import type { Command } from 'commander';
import type { CommandSpec } from '../command-spec.js';

// Only types at top level: implementations load lazily in each action so `--help` stays fast.

interface CommonOpts {
  policy: string;
  devices: string;
  users?: string;
  json?: boolean;
}

async function loadInputs(opts: CommonOpts) {
  const files = await import('../../tailnet/policy-files.js');
  const engine = await import('../../tailnet/policy/index.js');
  const { InputFileError } = await import('../../core/errors.js');
  const text = await files.readPolicyText(opts.policy);
  const inventory = await files.readInventory(opts.devices, opts.users);
  let policy;
  try {
    policy = engine.parsePolicy(text);
  } catch (e) {
    if (e instanceof engine.PolicyInvalidError)
      throw new InputFileError(opts.policy, e.message, undefined, { hint: 'fix the policy file; nothing was changed.' });
    throw e;
  }
  return { files, engine, text, inventory, policy };
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--policy <file>', 'policy file (HuJSON or JSON), e.g. saved from GET /api/v2/tailnet/-/acl')
    .requiredOption('--devices <file>', 'body of GET /api/v2/tailnet/-/devices ({"devices": [...]})')
    .option('--users <file>', 'body of GET /api/v2/tailnet/-/users (needed for autogroup:admin and other roles)')
    .option('--json', 'machine-readable output');
}

const spec: CommandSpec = {
  name: 'policy',
  summary: 'Evaluate, test, quarantine and release Tailscale policy files offline (no API calls)',
  configure(cmd) {
    cmd.description(
      'Offline policy engine: run the policy tests the control server would run, ask what a device can ' +
        'reach and which rule grants it, and plan a provable quarantine edit (or lift one).',
    );

    common(cmd.command('test'))
      .description("Run the policy's tests and sshTests (plus --extra-tests) as the control server does. Exit 0 pass, 1 fail, 2 bad input.")
      .option('--extra-tests <file>', 'JSON array of further test entries, as sent to POST /acl/validate')
      .action(async (opts: CommonOpts & { extraTests?: string }) => {
        const { files, engine, inventory, policy } = await loadInputs(opts);
        const { emit } = await import('../output.js');
        const { terminalSafe } = await import('../../core/terminal-text.js');
        const extra = opts.extraTests ? await files.readExtraTests(opts.extraTests) : [];
        const model = engine.compilePolicy(policy, inventory);
        const failures = [...engine.runPolicyTests(model, policy.tests), ...engine.runSshTests(model, policy.sshTests), ...engine.runPolicyTests(model, extra)];
        const total = policy.tests.length + policy.sshTests.length + extra.length;
        emit(opts.json, { ok: failures.length === 0, tests: total, failures }, () =>
          terminalSafe(failures.length ? engine.renderTestFailures(failures) : `all ${total} test(s) passed`),
        );
        if (failures.length) process.exitCode = 1;
      });

    common(cmd.command('reach'))
      .description('What a source (device, IP, user, group or tag) can reach, with the granting rule and its line. With --to, exit 1 when denied.')
      .requiredOption('--from <source>', 'device name, MagicDNS name, node id, Tailscale IP, or an identity (user@example.com, group:x, tag:x)')
      .option('--to <host:port>', 'a single destination: device, tag, host alias or IP, with one port')
      .action(async (opts: CommonOpts & { from: string; to?: string }) => {
        const { engine, inventory, policy } = await loadInputs(opts);
        const { emit } = await import('../output.js');
        const { terminalSafe } = await import('../../core/terminal-text.js');
        const model = engine.compilePolicy(policy, inventory);
        if (opts.to) {
          const check = engine.reachCheck(model, opts.from, opts.to);
          emit(opts.json, check, () => terminalSafe(engine.renderReachCheck(check)));
          if (!check.allowed) process.exitCode = 1;
        } else {
          const report = engine.reachFrom(model, opts.from);
          emit(opts.json, report, () => terminalSafe(engine.renderReach(report)));
        }
      });

    common(cmd.command('quarantine'))
      .description(
        'Plan a provable quarantine: retag the device, narrow the selectors that still match it, keep responders\' SSH, ' +
          'pin it with tests. Prints the proof, blast radius and diff. Exit 0 when proven, 4 when refused, 2 on bad input.',
      )
      .requiredOption('--device <device...>', 'target device(s): name, MagicDNS name, Tailscale IP or node id')
      .option('--run <id>', 'run id naming the edits (default: q-<UTC date and time>)')
      .option('--responders <selector,...>', 'who keeps SSH (tcp:22) into the target: users, groups or tags, comma-separated', 'group:incident-response')
      .option('--deny <host:port,...>', 'high-risk destinations the target must never reach (pinned as deny tests)')
      .option('--isolate-inbound', 'also cut access into the target, except the responders')
      .option('--quarantine-tag-owner <selector...>', 'tagOwners of the quarantine tag, e.g. the tag of the OAuth client that will retag (default: none, i.e. admins)')
      .option('--out <file>', 'write the new policy (only when the plan is proven)')
      .option('--out-devices <file>', 'write the device list as the plan leaves it (target retagged), for `policy test`')
      .option('--no-diff', 'do not print the diff')
      .action(
        async (
          opts: CommonOpts & {
            device: string[];
            run?: string;
            responders: string;
            deny?: string;
            isolateInbound?: boolean;
            quarantineTagOwner?: string[];
            out?: string;
            outDevices?: string;
            diff?: boolean;
          },
        ) => {
          const { files, engine, text, inventory } = await loadInputs(opts);
          const { emit } = await import('../output.js');
          const { terminalSafe } = await import('../../core/terminal-text.js');
          const { ExitCode } = await import('../../core/errors.js');
          const run = opts.run ?? `q-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase()}`;
          const plan = engine.planQuarantine(text, inventory, {
            run,
            targets: opts.device,
            responders: opts.responders.split(',').map((x) => x.trim()).filter(Boolean),
            highRisk: opts.deny ? opts.deny.split(',').map((x) => x.trim()).filter(Boolean) : [],
            isolateInbound: opts.isolateInbound === true,
            quarantineTagOwners: opts.quarantineTagOwner ?? [],
          });
          if (plan.status === 'ready') {
            if (opts.out) await files.writeFileAtomic(opts.out, plan.newText);
            if (opts.outDevices)
              await files.writeFileAtomic(opts.outDevices, `${JSON.stringify({ devices: engine.inventoryAfterQuarantine(inventory, plan).devices }, null, 2)}\n`);
          }
          emit(opts.json, plan, () => terminalSafe(engine.renderQuarantinePlan(plan, { diff: opts.diff !== false })));
          if (plan.status !== 'ready') {
            if (!opts.json) process.stderr.write('error: no provably safe quarantine edit exists (see "Refused because"); nothing was written.\n');
            process.exitCode = ExitCode.conflict;
          }
        },
      );

    cmd
      .command('release')
      .description(
        'Remove exactly one run\'s quarantine edits from the current policy (others\' later edits are kept). With --devices, the released policy\'s tests are run ' +
          'as the control server will, and tests parked for a device that is gone stay parked. Exit 0 released or nothing to do, 4 on conflict.',
      )
      .requiredOption('--policy <file>', 'the current policy file (HuJSON)')
      .option('--run <id>', 'run id of the quarantine to lift')
      .option('--marker <text>', 'the marker text instead of --run, e.g. "tailnet-ir quarantine q-20260101t1200"')
      .option('--devices <file>', 'current GET /api/v2/tailnet/-/devices body: run the released policy\'s tests against it and keep parked tests of deleted devices out')
      .option('--users <file>', 'current GET /api/v2/tailnet/-/users body (for autogroup:admin and other roles; with --devices)')
      .option('--out <file>', 'write the released policy (only when there is no conflict)')
      .option('--json', 'machine-readable output')
      .action(async (opts: { policy: string; run?: string; marker?: string; devices?: string; users?: string; out?: string; json?: boolean }) => {
        const files = await import('../../tailnet/policy-files.js');
        const engine = await import('../../tailnet/policy/index.js');
        const { emit } = await import('../output.js');
        const { terminalSafe } = await import('../../core/terminal-text.js');
        const { ExitCode, UsageError } = await import('../../core/errors.js');
        const run = opts.run ?? opts.marker?.replace(/^\s*tailnet-ir quarantine\s+/, '').trim();
        if (!run) throw new UsageError('name the quarantine with --run RUN or --marker "tailnet-ir quarantine RUN"');
        if (opts.users && !opts.devices) throw new UsageError('--users needs --devices (the tests are run against the device list)');
        const text = await files.readPolicyText(opts.policy);
        const inventory = opts.devices ? await files.readInventory(opts.devices, opts.users) : undefined;
        const plan = engine.planRelease(text, run, inventory ? { inventory } : {});
        if (plan.status === 'ready' && opts.out && plan.newText !== undefined) await files.writeFileAtomic(opts.out, plan.newText);
        emit(opts.json, plan, () => terminalSafe(engine.renderReleasePlan(plan)));
        if (plan.status === 'conflict') process.exitCode = ExitCode.conflict;
      });
  },
};
export default spec;
