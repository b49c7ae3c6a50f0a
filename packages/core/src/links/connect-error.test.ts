import { describe, expect, it } from 'vitest';
import { isRetriable } from '../rpc/retry.js';
import { ConnectError, webSocketConnectError } from './connect-error.js';

const url = 'wss://fl.example:8787';
/** An error as Node's `ws` hands it to its 'error' event: the system's code, its message. */
const nodeError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

describe('webSocketConnectError: the cause from what the platform reported', () => {
  it('names a Node TLS failure by its code (OpenSSL verdicts and Node’s own)', () => {
    for (const code of [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_WRONG_VERSION_NUMBER',
      'EPROTO',
    ]) {
      const error = webSocketConnectError(url, nodeError(`${code} message`, code), 1006, '');
      expect(error).toMatchObject({ failure: 'tls', systemCode: code, code: 'NOT_CONNECTED' });
    }
  });

  it('an HTTP status other than 401 and 403 (503: the server is full) is retried; 401 and 403 are final', () => {
    const status = (n: number) =>
      webSocketConnectError(url, nodeError(`Unexpected server response: ${n}`), 1006, '');
    expect(status(503)).toMatchObject({
      failure: 'http',
      status: 503,
      code: 'NOT_CONNECTED',
      hint: undefined,
    });
    expect(isRetriable(status(503))).toBe(true);
    expect(isRetriable(status(401))).toBe(false);
    expect(isRetriable(status(403))).toBe(false);
  });

  it('another socket error is failure network, with its code', () => {
    const error = webSocketConnectError(url, nodeError('read ECONNRESET', 'ECONNRESET'), 1006, '');
    expect(error).toMatchObject({ failure: 'network', systemCode: 'ECONNRESET', code: 'NOT_CONNECTED' });
    expect(error.message).toBe(`cannot connect to ${url}: read ECONNRESET`);
  });

  it('a browser (an error event without an error): failure closed, and the message says the browser hides why', () => {
    const error = webSocketConnectError(url, undefined, 1006, '');
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ failure: 'closed', code: 'NOT_CONNECTED', systemCode: undefined });
    expect(error.message).toBe(
      `cannot connect to ${url}: closed before opening (code 1006); the browser does not tell a page why (refused, DNS, TLS, an HTTP status such as 403 for its Origin): its console and network panel show the cause`,
    );
  });

  it('reads a hostile error object without throwing (getters that throw, a message that is not text)', () => {
    const hostile = {
      get code(): string {
        throw new Error('no');
      },
      message: { toString: () => 'never called' },
    };
    expect(webSocketConnectError(url, hostile, 1006, '\n'.repeat(500))).toMatchObject({ failure: 'closed' });
  });
});
