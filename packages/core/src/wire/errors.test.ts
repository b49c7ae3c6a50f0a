import { describe, expect, it } from 'vitest';
import {
  fromWireError,
  OiafedError,
  protocolError,
  RemoteError,
  toWireError,
  type WireError,
} from './errors.js';
import {
  MAX_CAUSE_DEPTH,
  MAX_ERROR_CODE_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_ERROR_STACK_LENGTH,
  MAX_NAME_LENGTH,
} from './frame-limits.js';

const uncallable = { toString: 1, valueOf: 1 };
const chain = (depth: number): WireError => {
  let error: WireError = { name: 'E', message: 'bottom' };
  for (let i = 0; i < depth; i++) error = { name: 'E', message: `level ${depth - i}`, cause: error };
  return error;
};
const depthOf = (error: unknown) => {
  let depth = 0;
  for (let at = (error as Error).cause; at !== undefined; at = (at as Error).cause) depth++;
  return depth;
};

describe('remote errors from the wire', () => {
  it('keeps name, message, code, stack and causes of an honest error', () => {
    const error = fromWireError('learner-1', {
      name: 'TypeError',
      message: 'bad',
      code: 'E_BAD',
      stack: 'at x',
      cause: { name: 'Error', message: 'root' },
    });
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({
      code: 'REMOTE_ERROR',
      message: 'bad',
      remoteName: 'TypeError',
      remoteCode: 'E_BAD',
      remoteStack: 'at x',
      origin: 'learner-1',
    });
    expect(error.cause).toMatchObject({ code: 'REMOTE_ERROR', message: 'root', remoteName: 'Error' });
  });

  it('gives the RPC machinery its own code back', () => {
    expect(fromWireError('hub', protocolError('TIMEOUT', 'late'))).toMatchObject({
      code: 'TIMEOUT',
      message: 'late',
    });
    expect(fromWireError('hub', { ...protocolError('TIMEOUT', 'late'), code: 'NOT_A_CODE' })).toBeInstanceOf(
      RemoteError,
    );
  });

  it(`builds at most ${MAX_CAUSE_DEPTH} causes of a chain 3,000 deep, without recursing through it`, () => {
    const error = fromWireError('learner-1', chain(3000));
    expect(depthOf(error)).toBe(MAX_CAUSE_DEPTH);
    expect(depthOf(new RemoteError('learner-1', chain(3000)))).toBe(MAX_CAUSE_DEPTH);
    expect(depthOf(fromWireError('learner-1', chain(2)))).toBe(2);
  });

  it('never throws, whatever the fields hold', () => {
    const cyclic: Record<string, unknown> = { name: 'E', message: 'again' };
    cyclic.cause = cyclic;
    const throwing = Object.defineProperty({ name: 'E' }, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    const inputs: unknown[] = [
      null,
      undefined,
      'text',
      42,
      [],
      uncallable,
      { name: uncallable, message: uncallable, code: uncallable, stack: uncallable, protocol: uncallable },
      { name: 'E', message: 'm', cause: { name: 'E', message: uncallable } },
      { name: 'E', message: 'm', cause: null },
      cyclic,
      throwing,
      new Proxy(
        {},
        {
          get: () => {
            throw new Error('trap');
          },
        },
      ),
    ];
    for (const input of inputs) {
      const error = fromWireError('peer', input as WireError);
      expect(error).toBeInstanceOf(OiafedError);
      expect(typeof error.message).toBe('string');
      expect(() => `${error.message} ${(error as { remoteName?: string }).remoteName}`).not.toThrow();
      expect(depthOf(error)).toBeLessThanOrEqual(MAX_CAUSE_DEPTH);
      expect(() => new RemoteError('peer', input as WireError)).not.toThrow();
    }
  });
});

describe('errors onto the wire', () => {
  it('sends what was thrown that is not an Error as bounded text, never through its own toString', () => {
    expect(toWireError('plain text', false)).toEqual({ name: 'Error', message: 'plain text' });
    expect(toWireError(uncallable, false)).toEqual({ name: 'Error', message: '[object]' });
    expect(toWireError(Object.create(null), false).message).toBe('[object]');
    expect(toWireError(undefined, false).message).toBe('undefined');
    expect(toWireError(7n, false).message).toBe('7');
  });

  it('cuts every field to what a peer accepts, so an honest error is never refused as BAD_FRAME', () => {
    const error = Object.assign(new Error('m'.repeat(MAX_ERROR_MESSAGE_LENGTH + 10)), {
      code: 'C'.repeat(MAX_ERROR_CODE_LENGTH + 1),
    });
    error.name = 'N'.repeat(MAX_NAME_LENGTH + 1);
    error.stack = 's'.repeat(MAX_ERROR_STACK_LENGTH + 1);
    const wire = toWireError(error, true);
    expect(wire.name).toHaveLength(MAX_NAME_LENGTH);
    expect(wire.message).toHaveLength(MAX_ERROR_MESSAGE_LENGTH);
    expect(wire.code).toHaveLength(MAX_ERROR_CODE_LENGTH);
    expect(wire.stack).toHaveLength(MAX_ERROR_STACK_LENGTH);
    expect(toWireError('t'.repeat(MAX_ERROR_MESSAGE_LENGTH * 2), false).message).toHaveLength(
      MAX_ERROR_MESSAGE_LENGTH,
    );
    expect(protocolError('BAD_FRAME', 'p'.repeat(MAX_ERROR_MESSAGE_LENGTH + 1)).message).toHaveLength(
      MAX_ERROR_MESSAGE_LENGTH,
    );
  });

  it(`sends at most ${MAX_CAUSE_DEPTH} causes, even of an error that is its own cause`, () => {
    const cyclic = new Error('loop');
    (cyclic as { cause?: unknown }).cause = cyclic;
    let wire: WireError = toWireError(cyclic, false);
    let depth = 0;
    while (wire.cause) {
      wire = wire.cause;
      depth++;
    }
    expect(depth).toBe(MAX_CAUSE_DEPTH);
    let deep: unknown = new Error('bottom');
    for (let i = 0; i < 3000; i++) deep = new Error(`level ${i}`, { cause: deep });
    expect(() => toWireError(deep, true)).not.toThrow();
  });

  it('never throws on an Error whose fields are not strings or whose getters throw', () => {
    const odd = new Error('x');
    Object.defineProperty(odd, 'name', { value: uncallable });
    Object.defineProperty(odd, 'message', { value: uncallable });
    const throwing = new Error('y');
    Object.defineProperty(throwing, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    Object.defineProperty(throwing, 'cause', {
      get() {
        throw new Error('getter');
      },
    });
    expect(toWireError(odd, true)).toMatchObject({ name: 'Error', message: '[object]' });
    expect(toWireError(throwing, true)).toMatchObject({ name: 'Error', message: 'undefined' });
    expect(
      toWireError(
        new Proxy(new Error('p'), {
          getPrototypeOf: () => {
            throw new Error('trap');
          },
        }),
        false,
      ),
    ).toEqual({ name: 'Error', message: 'unreadable error' });
  });
});
