import { ExitCode, TailnetIrError, type ErrorDetails } from '../core/errors.js';

/** The host presented a key we did not pin. We refuse: it may be an attacker in the middle. */
export class HostKeyRejectedError extends TailnetIrError {
  override readonly exitCode = ExitCode.conflict;
  override readonly code = 'host-key-rejected';
  constructor(
    readonly host: string,
    readonly reason: 'unknown' | 'mismatch' | 'revoked',
    readonly presented: string,
    readonly expected: readonly string[],
  ) {
    const what =
      reason === 'unknown'
        ? `no pinned host key for ${host}; it presented ${presented}`
        : reason === 'revoked'
          ? `${host} presented a host key marked @revoked (${presented})`
          : `host key for ${host} does not match the pinned key: it presented ${presented}, expected ${expected.join(' or ')}`;
    super(`Refusing to connect: ${what}. This may be an attacker in the middle. Nothing was collected from this host.`, {
      hint:
        'Confirm the fingerprint out of band (on the node console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), ' +
        'then pin it deliberately with --known-hosts FILE (a line like "[host]:port ssh-ed25519 AAAA…") or --host-key SHA256:….',
    });
  }
}

/** SSH transport failure: unreachable, refused, authentication, timeout. */
export class SshConnectError extends TailnetIrError {
  override readonly exitCode = ExitCode.remote;
  override readonly code = 'ssh-connect';
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
  }
}
