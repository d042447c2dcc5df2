/**
 * OpenSSH SSHSIG detached signatures (PROTOCOL.sshsig), Ed25519 only, so that stock
 * `ssh-keygen -Y verify -n NAMESPACE` accepts what we sign and we can check what it signs.
 * Pure encoding/decoding plus Ed25519 through node:crypto; key files and the agent are signers.
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { sha256Fingerprint } from './host-keys.js';

/** Evidence from a real incident. */
export const EVIDENCE_NAMESPACE = 'tailnet-ir-evidence';
/** Evidence from a drill: a different namespace so it can never verify as real evidence. */
export const DRILL_NAMESPACE = 'tailnet-ir-drill';

const MAGIC = Buffer.from('SSHSIG');
const ARMOR_BEGIN = '-----BEGIN SSH SIGNATURE-----';
const ARMOR_END = '-----END SSH SIGNATURE-----';

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('truncated signature');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.bytes(this.uint32());
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

/** The blob that actually gets signed: magic, namespace, reserved, hash algorithm, H(message). */
export function signedData(namespace: string, hashAlgorithm: 'sha512' | 'sha256', messageHash: Buffer): Buffer {
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(hashAlgorithm), sshString(messageHash)]);
}

export interface SshSignature {
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: 'sha512' | 'sha256';
  signatureType: string;
  signature: Buffer;
}

export function encodeSignature(sig: SshSignature): string {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1);
  const inner = Buffer.concat([sshString(sig.signatureType), sshString(sig.signature)]);
  const blob = Buffer.concat([
    MAGIC,
    version,
    sshString(sig.publicKey),
    sshString(sig.namespace),
    sshString(''),
    sshString(sig.hashAlgorithm),
    sshString(inner),
  ]);
  const b64 = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return `${ARMOR_BEGIN}\n${b64.join('\n')}\n${ARMOR_END}\n`;
}

export function decodeSignature(armored: string): SshSignature {
  const text = armored.trim();
  if (!text.startsWith(ARMOR_BEGIN) || !text.endsWith(ARMOR_END)) throw new Error('not an SSH signature (missing armor)');
  const blob = Buffer.from(text.slice(ARMOR_BEGIN.length, -ARMOR_END.length).replace(/\s+/g, ''), 'base64');
  const r = new Reader(blob);
  if (!r.bytes(6).equals(MAGIC)) throw new Error('not an SSH signature (bad magic)');
  const version = r.uint32();
  if (version !== 1) throw new Error(`unsupported SSHSIG version ${version}`);
  const publicKey = r.string();
  const namespace = r.string().toString('utf8');
  r.string(); // reserved
  const hashAlgorithm = r.string().toString('utf8');
  if (hashAlgorithm !== 'sha512' && hashAlgorithm !== 'sha256') throw new Error(`unsupported hash ${hashAlgorithm}`);
  const inner = new Reader(r.string());
  const signatureType = inner.string().toString('utf8');
  const signature = inner.string();
  return { publicKey, namespace, hashAlgorithm, signatureType, signature };
}

/** Anything that can produce an Ed25519 signature for a public key: a key file or ssh-agent. */
export interface Ed25519Signer {
  /** SSH wire-format public key blob (`ssh-ed25519` + 32 bytes). */
  publicKey: Buffer;
  sign(data: Buffer): Promise<Buffer>;
}

export async function hashFile(path: string, algorithm: 'sha512' | 'sha256'): Promise<Buffer> {
  const h = createHash(algorithm);
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest();
}

/** Sign the archive file (streamed through SHA-512), returning the armored `.sig` text. */
export async function signFile(path: string, signer: Ed25519Signer, namespace: string): Promise<string> {
  const digest = await hashFile(path, 'sha512');
  const signature = await signer.sign(signedData(namespace, 'sha512', digest));
  return encodeSignature({ publicKey: signer.publicKey, namespace, hashAlgorithm: 'sha512', signatureType: 'ssh-ed25519', signature });
}

function ed25519PublicKeyObject(blob: Buffer) {
  const r = new Reader(blob);
  const type = r.string().toString();
  if (type !== 'ssh-ed25519') throw new Error(`unsupported signing key type ${type} (tailnet-ir signs and verifies with ssh-ed25519)`);
  const raw = r.string();
  if (raw.length !== 32) throw new Error('malformed ssh-ed25519 key');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export interface SignatureCheck {
  valid: boolean;
  namespace: string;
  signerFingerprint: string;
  reason?: string;
}

/** Check a signature over a file: cryptographic validity and namespace. Who signed is checked
 *  separately against allowed_signers. */
export async function verifyFileSignature(path: string, armored: string, namespace: string): Promise<SignatureCheck> {
  let sig: SshSignature;
  try {
    sig = decodeSignature(armored);
  } catch (err) {
    return { valid: false, namespace: '', signerFingerprint: '', reason: (err as Error).message };
  }
  const signerFingerprint = sha256Fingerprint(sig.publicKey);
  if (sig.namespace !== namespace)
    return {
      valid: false,
      namespace: sig.namespace,
      signerFingerprint,
      reason: `signature namespace is "${sig.namespace}", expected "${namespace}"${sig.namespace === DRILL_NAMESPACE ? ' (this is drill evidence)' : ''}`,
    };
  if (sig.signatureType !== 'ssh-ed25519')
    return { valid: false, namespace: sig.namespace, signerFingerprint, reason: `unsupported signature type ${sig.signatureType}` };
  let ok: boolean;
  try {
    const digest = await hashFile(path, sig.hashAlgorithm);
    ok = cryptoVerify(null, signedData(namespace, sig.hashAlgorithm, digest), ed25519PublicKeyObject(sig.publicKey), sig.signature);
  } catch (err) {
    return { valid: false, namespace: sig.namespace, signerFingerprint, reason: (err as Error).message };
  }
  return ok
    ? { valid: true, namespace: sig.namespace, signerFingerprint }
    : { valid: false, namespace: sig.namespace, signerFingerprint, reason: 'signature does not match the archive (the file was modified after signing, or the signature belongs to another file)' };
}

export { sshString, ed25519PublicKeyObject };

/** Sign an archive and write the detached signature next to it (`<archive>.sig`). */
export async function signArchive(archivePath: string, signer: Ed25519Signer, namespace: string = EVIDENCE_NAMESPACE): Promise<string> {
  const sigPath = `${archivePath}.sig`;
  await writeFile(sigPath, await signFile(archivePath, signer, namespace), { mode: 0o644 });
  return sigPath;
}
