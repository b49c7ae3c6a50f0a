import { EventEmitter } from 'eventemitter3';
import { describe, expect, it } from 'vitest';
import { asOiafedError, OiafedError } from './errors.js';
import { delay, onceWithTimeout, settleWithin, withTimeout } from './signals.js';

describe('onceWithTimeout', () => {
  it('resolves with what the listener hears and takes the listener off', async () => {
    const emitter = new EventEmitter<{ ready: [number] }>();
    const cleaned: unknown[] = [];
    const waiting = onceWithTimeout<number>(1_000, 'no ready', (settle) => {
      emitter.on('ready', settle.resolve);
      return (error) => {
        cleaned.push(error);
        emitter.off('ready', settle.resolve);
      };
    });
    emitter.emit('ready', 7);
    await expect(waiting).resolves.toBe(7);
    expect(cleaned).toEqual([undefined]);
    expect(emitter.listenerCount('ready')).toBe(0);
  });

  it('fails with TIMEOUT naming what did not happen, and the cleanup is told the error once', async () => {
    const cleaned: unknown[] = [];
    const waiting = onceWithTimeout(
      5,
      () => 'only 1 of 2 learners connected',
      () => (error) => cleaned.push(error),
    );
    await expect(waiting).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: 'only 1 of 2 learners connected within 5 ms',
    });
    expect(cleaned).toHaveLength(1);
    expect(cleaned[0]).toBeInstanceOf(OiafedError);
  });

  it('counts only the first settlement, even one made while setting up', async () => {
    let cleanups = 0;
    const waiting = settleWithin<string>(
      1_000,
      (settle) => {
        settle.resolve('first');
        settle.reject(new Error('second'));
        return () => void (cleanups += 1);
      },
      (settle) => settle.resolve('timer'),
    );
    await expect(waiting).resolves.toBe('first');
    expect(cleanups).toBe(1);
  });

  it('rejects with what setup threw', async () => {
    const broken = new OiafedError('INVALID_CONFIG', 'bad address');
    await expect(
      onceWithTimeout(1_000, 'never', () => {
        throw broken;
      }),
    ).rejects.toBe(broken);
  });
});

describe('withTimeout and delay', () => {
  it('withTimeout passes a settled promise through and bounds one that never settles', async () => {
    await expect(withTimeout(Promise.resolve(3), 1_000, 'no answer')).resolves.toBe(3);
    await expect(withTimeout(new Promise(() => undefined), 5, 'no answer')).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: 'no answer within 5 ms',
    });
  });

  it('delay rejects with ABORTED as soon as its signal aborts, and at once for an aborted one', async () => {
    const controller = new AbortController();
    const waiting = delay(60_000, controller.signal);
    controller.abort('stopped');
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED', message: 'call aborted: stopped' });
    await expect(delay(60_000, controller.signal)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('asOiafedError', () => {
  it('keeps an OiafedError and makes anything else INTERNAL, saying what failed', () => {
    const typed = new OiafedError('TIMEOUT', 'late');
    expect(asOiafedError(typed)).toBe(typed);
    expect(asOiafedError(new TypeError('x is not a function'), 'reading a frame')).toMatchObject({
      code: 'INTERNAL',
      message: 'reading a frame failed: x is not a function',
    });
    expect(asOiafedError('a string')).toMatchObject({ code: 'INTERNAL', message: 'a string' });
    const hostile = { toString: 3 };
    expect(asOiafedError(hostile)).toMatchObject({
      code: 'INTERNAL',
      message: 'an unprintable value was thrown',
    });
  });
});
