import type { CommandSpec } from '../command-spec.js';

interface VerifyCliOptions {
  signature?: string;
  allowedSigners?: string;
  identity?: string;
  drill?: boolean;
  json?: boolean;
}

const spec: CommandSpec = {
  name: 'verify',
  summary: 'Verify an evidence archive: SSH signature and every manifest hash',
  configure(cmd) {
    cmd
      .argument('<archive>', 'evidence archive (.tar.gz); its signature is read from ARCHIVE.sig')
      .option('--signature <file>', 'detached signature (default: ARCHIVE.sig)')
      .option('--allowed-signers <file>', 'OpenSSH allowed_signers file naming who may sign evidence')
      .option('--identity <id>', 'signer identity to require (with --allowed-signers)')
      .option('--drill', 'expect drill evidence (namespace tailnet-ir-drill)')
      .option('--json', 'machine-readable output')
      .addHelpText(
        'after',
        '\nExit status: 0 verified, 1 a check failed (each failing file is named), 2 bad input.\n' +
          'Stock OpenSSH accepts the same signature:\n' +
          '  ssh-keygen -Y verify -f allowed_signers -I ID -n tailnet-ir-evidence -s ARCHIVE.sig < ARCHIVE\n',
      )
      .action(async (archive: string, opts: VerifyCliOptions) => {
        const { runVerify } = await import('../../evidence/verify-command.js');
        await runVerify(archive, opts);
      });
  },
};
export default spec;
