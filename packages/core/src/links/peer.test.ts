import { describe, expect, it } from 'vitest';
import { signallingAddress } from './peer.js';

describe('signallingAddress', () => {
  it('takes a URL apart the way PeerJS wants it', () => {
    expect(signallingAddress('http://127.0.0.1:9000/')).toEqual({
      host: '127.0.0.1',
      port: 9000,
      path: '/',
      secure: false,
    });
    expect(signallingAddress('wss://signal.example/fl/')).toEqual({
      host: 'signal.example',
      port: 443,
      path: '/fl/',
      secure: true,
    });
  });

  it('fills in the path and security of an address object', () => {
    expect(signallingAddress({ host: 'localhost', port: 9000 })).toEqual({
      host: 'localhost',
      port: 9000,
      path: '/',
      secure: false,
    });
  });

  it('refuses what is not an http(s) or ws(s) URL with INVALID_CONFIG', () => {
    expect(() => signallingAddress('localhost:9000')).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    expect(() => signallingAddress('not a url')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
