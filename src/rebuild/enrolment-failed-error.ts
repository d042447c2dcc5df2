import { ExitCode, TailnetIrError } from '../core/errors.js';

/** The rebuilt host did not receive the key (the activity revokes the minted key). Retryable: the host may still be booting. */
export class EnrolmentFailedError extends TailnetIrError {
  override readonly code: string = 'enrolment-failed';
}

/**
 * The hand-over was refused on purpose — the host still presents the compromised node's host
 * key, or there is no terminal to show a manual key on. Retrying the same way cannot help.
 */
export class EnrolmentRefusedError extends EnrolmentFailedError {
  override readonly exitCode = ExitCode.conflict;
  override readonly code = 'enrolment-refused';
}
