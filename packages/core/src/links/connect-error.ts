import { boundedText } from '../wire/bounded-text.js';
import { OiafedError, type ErrorCode } from '../wire/errors.js';

/**
 * Why a connection to a trainer could not be made, as a program branches on it:
 * - `refused`: nothing listens at that host and port (ECONNREFUSED);
 * - `dns`: the host name does not resolve (ENOTFOUND, EAI_AGAIN);
 * - `http`: the server answered the WebSocket upgrade with an HTTP status (`status`), e.g. 403 for
 *   an Origin it does not allow, 401 for missing credentials;
 * - `tls`: the TLS handshake failed (a certificate, or TLS spoken to a plain server);
 * - `timeout`: no answer in time (an attempt, or the whole join);
 * - `network`: another socket error (ECONNRESET, EHOSTUNREACH...; `systemCode` says which);
 * - `closed`: the connection closed before it opened and the platform did not say why (browsers
 *   never do: their WebSocket hides the cause from the page);
 * - `rejected`: the trainer answered and refused the join (wrong token, version, id taken: `code`);
 * - `invalid`: the connection cannot even be tried (a URL that is not ws:// or wss://, a header
 *   value the platform refuses, a WebRTC peer id another peer holds).
 */
export type ConnectFailure =
  'refused' | 'dns' | 'http' | 'tls' | 'timeout' | 'network' | 'closed' | 'rejected' | 'invalid';

export interface ConnectErrorDetail {
  failure: ConnectFailure;
  /** Where the connection was to go, when known. */
  url?: string;
  /** http: the status the server answered the upgrade with. */
  status?: number;
  /** The operating system's or TLS library's code (ECONNREFUSED, ENOTFOUND, ERR_SSL_...), in Node. */
  systemCode?: string;
  /** What to check, where the cause suggests it (a refused Origin, missing credentials). */
  hint?: string;
  /** Connection attempts made, on the error a whole join failed with. */
  attempts?: number;
  /** True when the join's time ran out (`joinTimeout`) before an attempt succeeded. */
  timedOut?: boolean;
  cause?: unknown;
}

/**
 * A connection (or a whole join) that failed, with its real cause in `failure` (and `status`,
 * `systemCode`, `hint`). Its `code` is the SDK's usual one: NOT_CONNECTED for network failures,
 * which a retry may cure; UNAUTHORIZED for an HTTP 401 or 403, which it will not; TIMEOUT; or the
 * trainer's own code for a refused join.
 */
export class ConnectError extends OiafedError {
  override name = 'ConnectError';
  readonly failure: ConnectFailure;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly systemCode: string | undefined;
  readonly hint: string | undefined;
  readonly attempts: number | undefined;
  readonly timedOut: boolean;

  constructor(code: ErrorCode, message: string, detail: ConnectErrorDetail) {
    super(code, message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.failure = detail.failure;
    this.url = detail.url;
    this.status = detail.status;
    this.systemCode = detail.systemCode;
    this.hint = detail.hint;
    this.attempts = detail.attempts;
    this.timedOut = detail.timedOut ?? false;
  }
}

/** HTTP statuses of a refused upgrade that another attempt will not cure, with what to check. */
const FINAL_STATUS_HINTS: ReadonlyMap<number, string> = new Map([
  [401, 'the server wants credentials: a Node learner can send them with `headers: { Authorization: ... }`'],
  [
    403,
    "the server refused this client, most often its Origin: a browser sends its page's origin, which must be in the server's allowed origins (serveWebSocket's `origins`); a Node learner sends none unless given `headers: { Origin: ... }`",
  ],
]);

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
/** Node's TLS errors: its own (ERR_TLS_*, ERR_SSL_*), OpenSSL's certificate verdicts, EPROTO. */
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)_|EPROTO$)/;
/** How `ws` reports an upgrade answered with another status than 101 (stable since ws 1.x). */
const UNEXPECTED_RESPONSE = /^Unexpected server response: (\d{3})$/;

/** A field of an error object we did not make (a getter that throws reads as undefined). */
function read(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * The cause of a WebSocket that closed before it opened, from what the platform reported: `error`
 * is the error its 'error' event carried (Node's `ws` gives one, with the system's code or the
 * HTTP status; browsers give none), `code` and `reason` those of its close.
 */
export function webSocketConnectError(
  url: string,
  error: unknown,
  code: number,
  reason: string,
): ConnectError {
  const at = `cannot connect to ${url}`;
  const systemCode = read(error, 'code');
  const sys = typeof systemCode === 'string' ? systemCode : undefined;
  const message = read(error, 'message');
  const text = typeof message === 'string' ? boundedText(message, 200) : undefined;
  const http = text === undefined ? undefined : UNEXPECTED_RESPONSE.exec(text);
  if (http) {
    const status = Number(http[1]);
    const hint = FINAL_STATUS_HINTS.get(status);
    return new ConnectError(
      hint ? 'UNAUTHORIZED' : 'NOT_CONNECTED',
      `${at}: the server refused the WebSocket upgrade with HTTP ${status}${hint ? `; ${hint}` : ''}`,
      { failure: 'http', url, status, ...(hint ? { hint } : {}), cause: error },
    );
  }
  const detail = { url, ...(sys ? { systemCode: sys } : {}), cause: error };
  if (sys === 'ECONNREFUSED')
    return new ConnectError(
      'NOT_CONNECTED',
      `${at}: connection refused, nothing listens there (ECONNREFUSED)`,
      {
        ...detail,
        failure: 'refused',
      },
    );
  if (sys !== undefined && DNS_CODES.has(sys))
    return new ConnectError(
      'NOT_CONNECTED',
      `${at}: the host name ${hostOf(url)} does not resolve (${sys}: DNS lookup failed)`,
      { ...detail, failure: 'dns' },
    );
  if (sys !== undefined && TLS_CODE.test(sys))
    return new ConnectError('NOT_CONNECTED', `${at}: TLS failed (${sys}): ${text ?? 'no detail'}`, {
      ...detail,
      failure: 'tls',
    });
  if (sys === 'ETIMEDOUT')
    return new ConnectError('TIMEOUT', `${at}: the connection timed out (ETIMEDOUT)`, {
      ...detail,
      failure: 'timeout',
    });
  if (text !== undefined)
    return new ConnectError(
      'NOT_CONNECTED',
      `${at}: ${text}${sys && !text.includes(sys) ? ` (${sys})` : ''}`,
      {
        ...detail,
        failure: 'network',
      },
    );
  // A browser: its error event says nothing, and its close is 1006 whatever happened.
  return new ConnectError(
    'NOT_CONNECTED',
    `${at}: ${boundedText(reason, 123) || 'closed before opening'} (code ${code}); the browser does not tell a page why (refused, DNS, TLS, an HTTP status such as 403 for its Origin): its console and network panel show the cause`,
    { failure: 'closed', url, cause: error },
  );
}

/** The host of a URL, for a message; the URL itself if it does not parse. */
function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

/** A connect attempt that got no answer within `ms`. */
export function connectTimeoutError(url: string, ms: number): ConnectError {
  return new ConnectError('TIMEOUT', `cannot connect to ${url}: no answer within ${ms} ms`, {
    failure: 'timeout',
    url,
  });
}
