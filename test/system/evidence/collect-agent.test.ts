import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireSystem } from '../support/requirements.js';
import { startDaemon, waitForLog, type Daemon } from '../support/daemons.js';
import { freeLoopbackPort, makeKey, startSshd, type KeyPair, type SshdInstance } from '../support/sshd-lab.js';
import { runCli } from '../../support/run-cli.js';

describe.runIf(requireSystem(['root', 'sshd', 'ssh-keygen', 'ssh-agent', 'ssh-add'], 'collect with ssh-agent and passphrases'))(
  'collect authenticating and signing through ssh-agent, or with passphrase-protected keys',
  () => {
    let dir: string;
    let sshd: SshdInstance;
    let agent: Daemon;
    let agentSock: string;
    let agentKey: KeyPair;
    let ppKey: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tir-agent-'));
      agentKey = makeKey(dir, 'agent_key', 'ir@example.test');
      ppKey = join(dir, 'pp_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'lab passphrase', '-C', 'pp', '-f', ppKey]);
      sshd = await startSshd({
        address: '127.0.0.1',
        port: await freeLoopbackPort(),
        authorizedKeys: [agentKey.publicLine, readFileSync(`${ppKey}.pub`, 'utf8').trim()],
      });
      agentSock = join(dir, 'agent.sock');
      agent = startDaemon(['ssh-agent', '-D', '-a', agentSock], join(dir, 'agent.log'));
      await waitForLog(join(dir, 'agent.log'), /SSH_AUTH_SOCK/, 5_000, agent.pid);
      execFileSync('ssh-add', ['-q', agentKey.privatePath], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
      writeFileSync(join(dir, 'allowed_signers'), `ir@example.test namespaces="tailnet-ir-evidence" ${agentKey.publicLine.split(' ').slice(0, 2).join(' ')}\n`);
    });
    afterAll(async () => {
      await agent?.stop();
      await sshd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('authenticates and signs with ssh-agent, pinning the host by fingerprint; OpenSSH accepts the signature', async () => {
      const out = join(dir, 'agent.tar.gz');
      const r = await runCli(
        ['collect', '--host', `root@127.0.0.1:${sshd.port}`, '--host-key', sshd.hostKeyFingerprint, '--collectors', 'host-triage', '--out', out, '--sign-agent', '--json'],
        { env: { SSH_AUTH_SOCK: agentSock }, timeoutMs: 60_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.code, r.stdout).toBe(0);
      const ssh = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', join(dir, 'allowed_signers'), '-I', 'ir@example.test', '-n', 'tailnet-ir-evidence', '-s', `${out}.sig`], { input: readFileSync(out) });
      expect(ssh.status).toBe(0);
      const v = await runCli(['verify', out, '--allowed-signers', join(dir, 'allowed_signers'), '--identity', 'ir@example.test']);
      expect(v.code).toBe(0);
    });

    it('uses a passphrase-protected key with TAILNET_IR_SSH_PASSPHRASE and fails clearly without it', async () => {
      const args = ['collect', '--host', `root@127.0.0.1:${sshd.port}`, '--host-key', sshd.hostKeyFingerprint, '--identity', ppKey, '--collectors', 'host-triage'];
      const env = { SSH_AUTH_SOCK: '' };
      const without = await runCli([...args, '--out', join(dir, 'no.tar.gz')], { env });
      expect(without.code).toBe(2);
      expect(without.stderr).toContain('passphrase-protected');
      const wrong = await runCli([...args, '--out', join(dir, 'wrong.tar.gz')], { env: { ...env, TAILNET_IR_SSH_PASSPHRASE: 'nope' } });
      expect(wrong.code).toBe(2);
      const ok = await runCli([...args, '--out', join(dir, 'pp.tar.gz')], { env: { ...env, TAILNET_IR_SSH_PASSPHRASE: 'lab passphrase' }, timeoutMs: 60_000 });
      expect(ok.stderr).toBe('');
      expect(ok.code, ok.stdout).toBe(0);
    });
  },
);
