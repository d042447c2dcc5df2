import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireSystem } from '../../system/support/requirements.js';
import { DRILL_NAMESPACE, EVIDENCE_NAMESPACE, signArchive, signFile, verifyFileSignature } from '../../../src/evidence/sshsig.js';
import { generateSigningKey, signerFromKeyFile } from '../../../src/evidence/signing-keys.js';
import { checkSigner, parseAllowedSigners } from '../../../src/evidence/allowed-signers.js';

describe.runIf(requireSystem(['ssh-keygen'], 'SSHSIG interop with OpenSSH'))('SSHSIG signatures and stock OpenSSH', () => {
  let dir: string;
  let keyPath: string;
  let allowed: string;
  const file = () => join(dir, 'evidence.tar.gz');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tir-sig-'));
    const k = generateSigningKey('ir@example.test');
    keyPath = join(dir, 'sign_key');
    writeFileSync(keyPath, k.privateKey, { mode: 0o600 });
    allowed = join(dir, 'allowed_signers');
    writeFileSync(allowed, k.allowedSignersLine);
    writeFileSync(file(), Buffer.from('pretend archive bytes \u0000\u0001\u0002'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sshVerify = (ns: string, sigPath: string, data: string = file()) =>
    spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'ir@example.test', '-n', ns, '-s', sigPath], {
      input: readFileSync(data),
    });

  it('produces signatures byte-identical to ssh-keygen -Y sign, which ssh-keygen -Y verify accepts', async () => {
    const signer = await signerFromKeyFile(keyPath, async () => undefined);
    expect(await signArchive(file(), signer)).toBe(`${file()}.sig`);
    const ours = readFileSync(`${file()}.sig`, 'utf8');
    const r = sshVerify(EVIDENCE_NAMESPACE, `${file()}.sig`);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain('Good "tailnet-ir-evidence" signature for ir@example.test');

    const theirsPath = join(dir, 'copy');
    writeFileSync(theirsPath, readFileSync(file()));
    execFileSync('ssh-keygen', ['-Y', 'sign', '-f', keyPath, '-n', EVIDENCE_NAMESPACE, theirsPath], { stdio: 'ignore' });
    expect(readFileSync(`${theirsPath}.sig`, 'utf8')).toBe(ours);
  });

  it('verifies what ssh-keygen signs, and rejects a tampered file or the drill namespace', async () => {
    const other = join(dir, 'other.bin');
    writeFileSync(other, 'x'.repeat(1000));
    execFileSync('ssh-keygen', ['-Y', 'sign', '-f', keyPath, '-n', EVIDENCE_NAMESPACE, other], { stdio: 'ignore' });
    const sig = readFileSync(`${other}.sig`, 'utf8');
    expect((await verifyFileSignature(other, sig, EVIDENCE_NAMESPACE)).valid).toBe(true);
    writeFileSync(other, `${'x'.repeat(999)}y`);
    const bad = await verifyFileSignature(other, sig, EVIDENCE_NAMESPACE);
    expect(bad.valid).toBe(false);
    expect(bad.reason).toMatch(/modified after signing/);

    const signer = await signerFromKeyFile(keyPath, async () => undefined);
    const drill = await signFile(file(), signer, DRILL_NAMESPACE);
    const d = await verifyFileSignature(file(), drill, EVIDENCE_NAMESPACE);
    expect(d.valid).toBe(false);
    expect(d.reason).toContain('drill evidence');
    writeFileSync(join(dir, 'drill.sig'), drill);
    expect(sshVerify(EVIDENCE_NAMESPACE, join(dir, 'drill.sig')).status).not.toBe(0);
  });

  it('checks the signer against allowed_signers: identity, key and namespaces', () => {
    const signers = parseAllowedSigners(readFileSync(allowed, 'utf8'));
    const blob = Buffer.from(readFileSync(allowed, 'utf8').trim().split(' ').at(-1) ?? '', 'base64');
    expect(checkSigner(signers, 'ir@example.test', EVIDENCE_NAMESPACE, blob).ok).toBe(true);
    expect(checkSigner(signers, 'mallory@example.test', EVIDENCE_NAMESPACE, blob)).toMatchObject({ ok: false });
    expect(checkSigner(signers, 'ir@example.test', DRILL_NAMESPACE, blob)).toMatchObject({ ok: false });
    const otherKey = Buffer.from(generateSigningKey('x').publicKey.split(' ')[1] ?? '', 'base64');
    expect(checkSigner(signers, 'ir@example.test', EVIDENCE_NAMESPACE, otherKey)).toMatchObject({ ok: false });
  });

  it('signs with a passphrase-protected key', async () => {
    const k = generateSigningKey('pp@example.test', 'correct horse');
    const p = join(dir, 'pp_key');
    writeFileSync(p, k.privateKey, { mode: 0o600 });
    await expect(signerFromKeyFile(p, async () => undefined)).rejects.toThrow(/passphrase-protected/);
    const signer = await signerFromKeyFile(p, async () => 'correct horse');
    const sig = await signFile(file(), signer, EVIDENCE_NAMESPACE);
    expect((await verifyFileSignature(file(), sig, EVIDENCE_NAMESPACE)).valid).toBe(true);
  });
});
