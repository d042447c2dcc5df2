/**
 * Where signatures come from: an Ed25519 key file (OpenSSH format, optional passphrase) or a
 * key held by ssh-agent. Also key generation for `tailnet-ir keygen`.
 */
import ssh2, { type ParsedKey } from 'ssh2';

// ssh2 is CommonJS: take its members from the default export (named ESM imports fail under Node).
const { OpenSSHAgent } = ssh2;
import { CredentialsError } from '../core/errors.js';
import { generateEd25519KeyPair } from './ed25519-keypair.js';
import { sha256Fingerprint } from './host-keys.js';
import { EVIDENCE_NAMESPACE, type Ed25519Signer } from './sshsig.js';
import { readPrivateKeyFile } from './private-key-file.js';

export async function signerFromKeyFile(
  path: string,
  getPassphrase: () => Promise<string | undefined>,
): Promise<Ed25519Signer> {
  const { key: parsed } = await readPrivateKeyFile(path, getPassphrase, {
    what: 'signing key',
    readHint: 'Create one with `tailnet-ir keygen --out FILE`, or sign through ssh-agent with --sign-agent.',
    passphraseHint: 'Set TAILNET_IR_SIGN_PASSPHRASE, run on a terminal to be prompted, or use ssh-agent.',
  });
  if (parsed.type !== 'ssh-ed25519' || !parsed.isPrivateKey())
    throw new CredentialsError(`Signing key ${path} is ${parsed.type}${parsed.isPrivateKey() ? '' : ' (public only)'}; an ed25519 private key is required.`, {
      hint: 'Create one with `tailnet-ir keygen --out FILE`.',
    });
  return { publicKey: parsed.getPublicSSH(), sign: async (d) => parsed.sign(d) };
}

/** Sign through ssh-agent with the first Ed25519 key (or the one whose fingerprint is given). */
export async function signerFromAgent(socketPath: string, fingerprint?: string): Promise<Ed25519Signer> {
  const agent = new OpenSSHAgent(socketPath);
  const keys = await new Promise<ParsedKey[]>((resolve, reject) =>
    agent.getIdentities((err, ks) => (err ? reject(err) : resolve((ks ?? []).filter((k): k is ParsedKey => "getPublicSSH" in k)))),
  ).catch((err: Error) => {
    throw new CredentialsError(`Cannot list ssh-agent keys at ${socketPath}: ${err.message}`, {
      hint: 'Start ssh-agent and ssh-add an ed25519 key, or pass --sign-key FILE.',
    });
  });
  const key = keys.find(
    (k) => k.type === 'ssh-ed25519' && (!fingerprint || sha256Fingerprint(k.getPublicSSH()) === fingerprint),
  );
  if (!key)
    throw new CredentialsError(`ssh-agent holds no ed25519 key${fingerprint ? ` with fingerprint ${fingerprint}` : ''}.`, {
      hint: 'ssh-add an ed25519 key, or pass --sign-key FILE.',
    });
  return {
    publicKey: key.getPublicSSH(),
    sign: (data) =>
      new Promise((resolve, reject) => agent.sign(key, data, {}, (err, sig) => (err || !sig ? reject(err ?? new Error('agent refused to sign')) : resolve(sig)))),
  };
}

export interface GeneratedSigningKey {
  privateKey: string;
  publicKey: string;
  fingerprint: string;
  allowedSignersLine: string;
}

export function generateSigningKey(identity: string, passphrase?: string): GeneratedSigningKey {
  const pair = generateEd25519KeyPair({
    comment: identity,
    ...(passphrase ? { passphrase, cipher: 'aes256-ctr', rounds: 16 } : {}),
  });
  const [type, b64] = pair.public.trim().split(' ');
  const blob = Buffer.from(b64 ?? '', 'base64');
  return {
    privateKey: pair.private,
    publicKey: `${type} ${b64} ${identity}\n`,
    fingerprint: sha256Fingerprint(blob),
    allowedSignersLine: `${identity} namespaces="${EVIDENCE_NAMESPACE}" ${type} ${b64}\n`,
  };
}
