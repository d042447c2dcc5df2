/** `tailnet-ir keygen`: write an ed25519 signing key, its .pub and an allowed_signers line. */
import { access, writeFile } from 'node:fs/promises';
import { emit } from '../cli/output.js';
import { UsageError } from '../core/errors.js';
import { generateSigningKey } from './signing-keys.js';
import { EVIDENCE_NAMESPACE } from './sshsig.js';

export async function runKeygen(opts: {
  out: string;
  identity: string;
  passphraseEnv?: string;
  force?: boolean;
  json?: boolean;
}): Promise<void> {
  if (!/^[^\s,"]+$/.test(opts.identity))
    throw new UsageError(`--identity ${JSON.stringify(opts.identity)} must be one word without spaces, commas or quotes.`);
  let passphrase: string | undefined;
  if (opts.passphraseEnv) {
    passphrase = process.env[opts.passphraseEnv];
    if (!passphrase) throw new UsageError(`Environment variable ${opts.passphraseEnv} is empty or unset; no key was written.`);
  }
  const files = { key: opts.out, pub: `${opts.out}.pub`, allowed: `${opts.out}.allowed_signers` };
  if (!opts.force) {
    for (const f of Object.values(files)) {
      const exists = await access(f).then(
        () => true,
        () => false,
      );
      if (exists) throw new UsageError(`${f} already exists; nothing was written.`, { hint: 'Choose another --out, or pass --force to overwrite.' });
    }
  }
  const key = generateSigningKey(opts.identity, passphrase);
  await writeFile(files.key, key.privateKey, { mode: 0o600 });
  await writeFile(files.pub, key.publicKey, { mode: 0o644 });
  await writeFile(files.allowed, key.allowedSignersLine, { mode: 0o644 });
  emit(
    opts.json,
    { ...files, identity: opts.identity, fingerprint: key.fingerprint, namespace: EVIDENCE_NAMESPACE, allowedSignersLine: key.allowedSignersLine.trim() },
    () =>
      [
        `Signing key written: ${files.key} (${key.fingerprint})`,
        `Public key:          ${files.pub}`,
        `allowed_signers:     ${files.allowed}`,
        '',
        'Give verifiers this allowed_signers line:',
        `  ${key.allowedSignersLine.trim()}`,
        '',
        'Sign evidence with:  tailnet-ir collect … --sign-key ' + files.key,
        `Verify with OpenSSH: ssh-keygen -Y verify -f ${files.allowed} -I ${opts.identity} -n ${EVIDENCE_NAMESPACE} -s ARCHIVE.sig < ARCHIVE`,
      ].join('\n'),
  );
}
