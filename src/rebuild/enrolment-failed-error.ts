import { TailnetIrError } from '../core/errors.js';

/** The rebuilt host did not receive the key (the activity revokes the minted key). */
export class EnrolmentFailedError extends TailnetIrError {
  override readonly code = 'enrolment-failed';
}
