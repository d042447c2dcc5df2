import type { CommandSpec } from '../command-spec.js';

interface KeygenOptions {
  out: string;
  identity: string;
  passphraseEnv?: string;
  force?: boolean;
  json?: boolean;
}

const spec: CommandSpec = {
  name: 'keygen',
  summary: 'Create an ed25519 evidence-signing key and its allowed_signers line',
  configure(cmd) {
    cmd
      .requiredOption('--out <file>', 'private key path (FILE.pub and FILE.allowed_signers are written next to it)')
      .option('--identity <id>', 'signer identity (principal) in allowed_signers, e.g. ir@example.com', `${process.env.USER ?? 'responder'}@tailnet-ir`)
      .option('--passphrase-env <var>', 'encrypt the key with the passphrase in this environment variable')
      .option('--force', 'overwrite existing files')
      .option('--json', 'machine-readable output')
      .addHelpText(
        'after',
        '\nVerify an archive with stock OpenSSH:\n  ssh-keygen -Y verify -f FILE.allowed_signers -I ID -n tailnet-ir-evidence -s ARCHIVE.sig < ARCHIVE\n',
      )
      .action(async (opts: KeygenOptions) => {
        const { runKeygen } = await import('../../evidence/keygen-command.js');
        await runKeygen(opts);
      });
  },
};
export default spec;
