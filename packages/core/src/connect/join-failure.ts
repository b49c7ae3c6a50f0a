import { ConnectError, type ConnectFailure } from '../links/connect-error.js';
import type { OiafedError } from '../wire/errors.js';

/** What a failure that is not a ConnectError (it came from the hello, or a link kind of its own) was. */
function failureOf(error: OiafedError): ConnectFailure {
  if (error instanceof ConnectError) return error.failure;
  switch (error.code) {
    case 'TIMEOUT':
      return 'timeout';
    case 'INVALID_CONFIG':
      // Refused before anything was sent: a signalling address that is not a URL, a peer id taken.
      return 'invalid';
    case 'DISCONNECTED':
    case 'NOT_CONNECTED':
    case 'CLOSED':
    case 'INTERNAL':
      return 'network';
    default:
      // The trainer answered, and said no: a wrong token or version, an id taken, a full server.
      return 'rejected';
  }
}

export interface JoinEnd {
  /** Attempts made, all failed. */
  attempts: number;
  /** Set when the join's time ran out: its length, ms. */
  timedOutAfter?: number;
}

/**
 * The error a join fails with: a ConnectError whose cause is the last attempt's (`last`, undefined
 * when no attempt had ended), saying how many attempts were made and whether the time ran out.
 * Its code is the last attempt's (TIMEOUT when the time ran out), so a refusal keeps its own
 * (UNAUTHORIZED, ID_TAKEN...).
 */
export function joinFailure(last: OiafedError | undefined, end: JoinEnd): ConnectError {
  const tries = `${end.attempts} attempt${end.attempts === 1 ? '' : 's'}`;
  if (last === undefined)
    return new ConnectError(
      'TIMEOUT',
      `no connection within ${end.timedOutAfter} ms: the first attempt got no answer`,
      { failure: 'timeout', attempts: end.attempts, timedOut: true },
    );
  const from = last instanceof ConnectError ? last : undefined;
  const detail = {
    failure: failureOf(last),
    attempts: end.attempts,
    timedOut: end.timedOutAfter !== undefined,
    cause: last,
    ...(from?.url === undefined ? {} : { url: from.url }),
    ...(from?.status === undefined ? {} : { status: from.status }),
    ...(from?.systemCode === undefined ? {} : { systemCode: from.systemCode }),
    ...(from?.hint === undefined ? {} : { hint: from.hint }),
  };
  return end.timedOutAfter === undefined
    ? new ConnectError(last.code, end.attempts > 1 ? `${last.message} (${tries})` : last.message, detail)
    : new ConnectError(
        'TIMEOUT',
        `no connection within ${end.timedOutAfter} ms (${tries}); the last: ${last.message}`,
        detail,
      );
}
