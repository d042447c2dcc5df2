/**
 * Reading an OpenSSH/PEM private key file: asks for a passphrase only when the key is
 * encrypted. Shared by SSH authentication and evidence signing, which differ only in wording.
 */
import { readFile } from 'node:fs/promises';
import ssh2, { type ParsedKey } from 'ssh2';
import { CredentialsError } from '../core/errors.js';

// ssh2 is CommonJS: take its members from the default export (named ESM imports fail under Node).
const { utils } = ssh2;

export interface PrivateKeyFile {
  data: Buffer;
  key: ParsedKey;
  passphrase: string | undefined;
}

export interface KeyFileWording {
  /** e.g. "SSH key", "signing key". */
  what: string;
  readHint: string;
  passphraseHint: string;
  parseHint?: string;
}

export async function readPrivateKeyFile(path: string, getPassphrase: () => Promise<string | undefined>, wording: KeyFileWording): Promise<PrivateKeyFile> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new CredentialsError(`Cannot read ${wording.what} ${path}: ${(err as Error).message}`, { hint: wording.readHint });
  }
  let parsed = utils.parseKey(data);
  let passphrase: string | undefined;
  if (parsed instanceof Error && /encrypted|passphrase/i.test(parsed.message)) {
    passphrase = await getPassphrase();
    if (passphrase === undefined)
      throw new CredentialsError(`${wording.what[0]!.toUpperCase()}${wording.what.slice(1)} ${path} is passphrase-protected and no passphrase was given.`, {
        hint: wording.passphraseHint,
      });
    parsed = utils.parseKey(data, passphrase);
  }
  if (parsed instanceof Error)
    throw new CredentialsError(`Cannot use ${wording.what} ${path}: ${parsed.message}`, wording.parseHint ? { hint: wording.parseHint } : {});
  return { data, key: Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed, passphrase };
}
