import { CredentialsError, ExitCode, TailnetIrError, type ErrorDetails } from '../core/errors.js';
import type { PolicyTestFailure } from './types.js';

interface ApiErrorInit {
  status: number;
  method: string;
  /** Path of the request, without query string or host. Never contains credentials. */
  path: string;
  /** The server's `message` field (or a short description when there was no body). */
  serverMessage: string;
  data?: unknown;
}

/**
 * A non-2xx answer from the Tailscale API. Carries the status, the server's message and its
 * `data` (policy test failures, warnings). Never carries request headers: credentials stay out.
 */
export class ApiError extends TailnetIrError {
  override readonly code: string = 'api';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly serverMessage: string;
  readonly data: unknown;

  constructor(init: ApiErrorInit, details: ErrorDetails = {}, message?: string) {
    super(message ?? `${init.method} ${init.path} failed with HTTP ${init.status}: ${init.serverMessage}`, details);
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.serverMessage = init.serverMessage;
    this.data = init.data;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), status: this.status, method: this.method, path: this.path, data: this.data };
  }
}

/** 404: the device, key or user (or tailnet) does not exist. */
export class ApiNotFoundError extends ApiError {
  override readonly code = 'not-found';
  override readonly exitCode = ExitCode.badInput;
  constructor(init: ApiErrorInit, readonly resource: string, readonly id: string) {
    super(
      init,
      { hint: 'Check the id with `tailnet-ir` triage output or the admin console; deleted devices and revoked keys disappear from lists.' },
      `${resource} not found: ${JSON.stringify(id)} (HTTP 404 from ${init.method} ${init.path})`,
    );
  }
}

/** 401/403: the credential was refused or lacks a scope. */
export class ApiPermissionError extends ApiError {
  override readonly code = 'permission';
  constructor(init: ApiErrorInit) {
    super(init, {
      hint:
        init.status === 401
          ? 'The API credential was refused. Check TAILSCALE_API_KEY (or the OAuth client id/secret) and that it has not expired.'
          : 'The credential lacks permission for this call. An OAuth client needs the matching scope (e.g. policy_file, devices:core, users, auth_keys); a user token cannot suspend its own user.',
    });
  }
}

/**
 * 412 on `POST /acl`: the policy changed since we read it (If-Match mismatch). Nothing was
 * saved; re-read, re-plan, and re-approve if the plan changed.
 */
export class PolicyConflictError extends ApiError {
  override readonly code = 'policy-conflict';
  override readonly exitCode = ExitCode.conflict;
  constructor(init: ApiErrorInit) {
    super(
      init,
      { hint: 'Someone changed the policy since it was read. Nothing was saved. Re-read the policy and plan again.' },
      `the tailnet policy changed since it was read (HTTP 412: ${init.serverMessage}); nothing was saved`,
    );
  }
}

/** 400 "test(s) failed": the policy's tests rejected the write. Nothing was saved. */
export class PolicyTestsFailedError extends ApiError {
  override readonly code = 'policy-tests-failed';
  override readonly exitCode = ExitCode.checkFailed;
  readonly failures: PolicyTestFailure[];
  constructor(init: ApiErrorInit, failures: PolicyTestFailure[]) {
    const lines = failures.flatMap((f) => (f.errors ?? []).map((e) => `  ${f.user}: ${e}`));
    super(
      init,
      { hint: 'The policy was not saved. Fix the rules or the tests; `tailnet-ir policy test` reproduces the check locally.' },
      `policy rejected: test(s) failed\n${lines.join('\n')}`,
    );
    this.failures = failures;
  }
}

/** 400 for anything else on a policy write: parse or validation error (`line N, column M: …`). */
export class PolicyRejectedError extends ApiError {
  override readonly code = 'policy-rejected';
  override readonly exitCode = ExitCode.badInput;
  constructor(init: ApiErrorInit) {
    super(init, { hint: 'The policy was not saved.' }, `policy rejected by the control server: ${init.serverMessage}`);
  }
}

/** 429/5xx/504 or a network failure that persisted through every retry. */
export class ApiUnavailableError extends ApiError {
  override readonly code = 'unavailable';
  constructor(init: ApiErrorInit, readonly attempts: number, cause?: unknown) {
    super(
      init,
      {
        hint: 'The Tailscale API is unreachable or overloaded. Nothing further was changed; retry later (runs can be resumed).',
        cause,
      },
      `${init.method} ${init.path} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${init.serverMessage}`,
    );
  }
}

/** Missing credentials: one clear line naming the environment variables. */
export function missingCredentialsError(): CredentialsError {
  return new CredentialsError(
    'no Tailscale API credentials: set TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET',
    { hint: 'For a drill against the built-in simulated tailnet no credentials are needed: run `tailnet-ir drill`.' },
  );
}
