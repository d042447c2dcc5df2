/**
 * Manual rebuild: the one-off key is shown once on the operator's terminal and stored nowhere.
 * It is never written to stdout/stderr (which may be a log or a pipe): without a terminal the
 * hand-over fails, the activity revokes the key, and the run pauses for a resume from one.
 */
import { magicDnsLabel } from '../core/device-config-key.js';
import type { MethodEnroller } from './rebuild-enroller.js';
import { EnrolmentRefusedError } from './enrolment-failed-error.js';

export interface KeyHandover {
  title: string;
  secret: string;
  lines: string[];
}

/** Writes to the controlling terminal only; undefined when there is none. */
export type RevealOnce = ((handover: KeyHandover) => Promise<void>) | undefined;

export function createManualEnroller(options: { reveal: RevealOnce }): MethodEnroller {
  return {
    async describe(device) {
      return {
        summary: [`show the key once on this terminal after you press Enter (never stored); rebuild ${magicDnsLabel(device)} and enrol it by hand`],
        warnings: options.reveal ? ['anything recording this terminal (script, tmux/screen logging, session recorders) records the key too'] : ['no terminal is attached: the manual hand-over will fail and pause the run until it is resumed from a terminal'],
        ...(options.reveal ? {} : { blocked: 'a manual rebuild shows the key on a terminal, and this run has none (unattended, or no controlling terminal)' }),
      };
    },
    async enrol({ oldDevice, authKey, tags, expires }) {
      if (!options.reveal)
        throw new EnrolmentRefusedError('a manual rebuild shows the key once on a terminal, and this run has none (unattended, or no controlling terminal)', {
          hint: 'Resume the run from a terminal, or choose rebuild.method ssh or sidecar. The minted key was revoked.',
        });
      const name = magicDnsLabel(oldDevice);
      await revealOrRefuse(options.reveal, {
        title: `One-off auth key for the rebuilt ${name} (tags ${tags.join(', ') || 'none'}; single use; expires ${expires.replace('T', ' ').slice(0, 16)} UTC). It is shown once and stored nowhere.`,
        secret: authKey,
        lines: [
          'On the rebuilt host, paste the key into:',
          `  sudo tailscale up --reset --auth-key=file:/dev/stdin --hostname=${name}${tags.length ? ` --advertise-tags=${tags.join(',')}` : ''}`,
          '(never pass the key as an argument: it would show in ps and shell history)',
          'This run now waits for the new device to join.',
        ],
      });
      return { method: 'manual', detail: 'key shown once on the operator terminal; not stored' };
    },
  };
}

async function revealOrRefuse(reveal: NonNullable<RevealOnce>, handover: KeyHandover): Promise<void> {
  try {
    await reveal(handover);
  } catch (err) {
    throw new EnrolmentRefusedError(`the key was not shown: ${err instanceof Error ? err.message : String(err)}`, {
      hint: 'Resume from a terminal and press Enter when asked. The minted key was revoked.',
      cause: err,
    });
  }
}
