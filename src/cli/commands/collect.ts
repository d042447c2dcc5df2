import type { CommandSpec } from '../command-spec.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

const spec: CommandSpec = {
  name: 'collect',
  summary: 'Collect evidence from a node over SSH into a signed, verifiable archive',
  configure(cmd) {
    cmd
      .requiredOption('--host <user@host[:port]>', 'node to collect from (repeat for several hosts)', collect)
      .option('--known-hosts <file>', 'known_hosts file pinning the host key(s) (plain, [host]:port or hashed entries)')
      .option('--host-key <SHA256:fp>', 'pin the host key by fingerprint instead of --known-hosts')
      .option('--identity <key>', 'SSH private key (passphrase from TAILNET_IR_SSH_PASSPHRASE or a prompt); default: ssh-agent')
      .option('--jump <user@host[:port]>', 'connect through this jump host (ProxyJump); its key must be pinned too')
      .option('--collectors <ids>', 'comma-separated collector ids (default: all bundled collectors)')
      .option('--collectors-dir <dir>', 'directory of collector YAML files (default: the bundled ones)')
      .option('--container <name>', 'export this container too (repeatable; name or id prefix)', collect)
      .option('--compose-dir <dir>', 'ScaleTail compose directory on the node (repeatable)', collect)
      .option('--since <iso>', 'start of the incident window for logs (default: 24 hours ago)')
      .option('--until <iso>', 'end of the incident window (default: now)')
      .option('--var <name=value>', 'override a collector variable, e.g. stateDir=/var/lib/tailscale (repeatable)', collect)
      .option('--include-sensitive', "also copy sensitive artifacts (e.g. the node's private tailscaled.state)")
      .requiredOption('--out <archive>', 'archive to write (.tar.gz); the signature goes to ARCHIVE.sig')
      .option('--sign-key <key>', 'ed25519 key to sign the archive (passphrase from TAILNET_IR_SIGN_PASSPHRASE or a prompt)')
      .option('--sign-agent', 'sign with the first ed25519 key in ssh-agent')
      .option('--case <id>', 'case / incident id for the chain of custody')
      .option('--operator <name>', 'who is collecting (default: $USER)')
      .option('--device-id <id>', 'Tailscale device id of the target')
      .option('--device-name <name>', 'Tailscale device name of the target')
      .option('--address <ip>', 'Tailscale address of the target (repeatable)', collect)
      .option('--connect-timeout <seconds>', 'SSH connect timeout', '15')
      .option('--drill', 'sign as drill evidence (namespace tailnet-ir-drill), never verifiable as real evidence')
      .option('--dry-run', 'print the commands that would run on the node, without connecting')
      .option('--full-check', 're-read and inflate the whole sealed archive before exiting (slower; the default quick check verifies layout, headers and the manifest)')
      .option('--json', 'machine-readable output (the manifest summary)')
      .addHelpText(
        'after',
        '\nExample:\n  tailnet-ir collect --host root@web-1.tail1234.ts.net --known-hosts ./known_hosts \\\n' +
          '    --identity ~/.ssh/ir_ed25519 --out web-1.tar.gz --sign-key ./evidence_key --case INC-42\n' +
          '\nExit status: 0 all collected, 1 some artifacts failed (see the summary; the archive is still sealed),\n' +
          '2 bad input, 3 a host could not be reached, 4 a host key was refused (possible attacker in the middle)\n' +
          'or the archive already exists (evidence is never overwritten), 130 interrupted (what was collected is sealed).\n',
      )
      .action(async (opts: Record<string, unknown>) => {
        const { runCollect } = await import('../../evidence/collect-command.js');
        await runCollect(opts as never);
      });
  },
};
export default spec;
