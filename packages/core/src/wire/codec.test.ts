import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { Codec } from './codec.js';
import type { CallFrame, Envelope } from './envelope.js';
import { OiafedError } from './errors.js';

const call = (args: unknown[]): CallFrame => ({ kind: 'call', id: 1, src: 'a', dst: 'b', method: 'm', args });
const roundTrip = (codec: Codec, frame: Envelope) => codec.decode(codec.encode(frame));

describe('Codec', () => {
  const codec = new Codec();
  const typed = {
    Float32Array: new Float32Array([1.5, -2.25, Math.PI]),
    Float64Array: new Float64Array([Math.E, -0, 1e300]),
    Int8Array: new Int8Array([-128, 0, 127]),
    Uint8Array: new Uint8Array([0, 1, 255]),
    Uint8ClampedArray: new Uint8ClampedArray([0, 128, 255]),
    Int16Array: new Int16Array([-32768, 5, 32767]),
    Uint16Array: new Uint16Array([0, 65535]),
    Int32Array: new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
    Uint32Array: new Uint32Array([0, 2 ** 32 - 1]),
    BigInt64Array: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
    BigUint64Array: new BigUint64Array([0n, 2n ** 64n - 1n]),
  };

  for (const [name, array] of Object.entries(typed)) {
    it(`round-trips a ${name} as a ${name} with the same values`, () => {
      const back = (roundTrip(codec, call([array])) as CallFrame).args[0];
      expect(back).toBeInstanceOf(array.constructor);
      expect(back).toEqual(array);
    });
  }

  it('round-trips a typed array that is a view into a larger buffer, with only its own elements', () => {
    const big = new Float32Array([9, 1, 2, 3, 9]);
    const view = big.subarray(1, 4);
    const back = (roundTrip(codec, call([view])) as CallFrame).args[0] as Float32Array;
    expect(back).toBeInstanceOf(Float32Array);
    expect(Array.from(back)).toEqual([1, 2, 3]);
  });

  it('round-trips ArrayBuffer, DataView, Map, Set, Date and BigInt as themselves', () => {
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    const view = new DataView(new Uint8Array([5, 6, 7]).buffer);
    const value = {
      buffer,
      view,
      map: new Map([['k', 1]]),
      set: new Set([1, 2]),
      date: new Date(5),
      big: 2n ** 70n,
    };
    const back = (roundTrip(codec, call([value])) as CallFrame).args[0] as typeof value;
    expect(back.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(new Uint8Array(back.buffer))).toEqual([1, 2, 3, 4]);
    expect(back.view).toBeInstanceOf(DataView);
    expect(back.view.getUint8(2)).toBe(7);
    expect(back.map).toEqual(value.map);
    expect(back.set).toEqual(value.set);
    expect(back.date.getTime()).toBe(5);
    expect(back.big).toBe(2n ** 70n);
  });

  it('refuses a frame over the size limit before decoding it, with PAYLOAD_TOO_LARGE', () => {
    const small = new Codec({ maxFrameBytes: 1024 });
    const bytes = codec.encode(call([new Uint8Array(4096)]));
    expect(() => small.decode(bytes)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(() => small.encode(call([new Uint8Array(4096)]))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });

  it('answers garbage bytes with BAD_FRAME', () => {
    for (const garbage of [
      new Uint8Array([0xc1, 0xff, 0x00]),
      Uint8Array.from('hello world', (c) => c.charCodeAt(0)),
      new Uint8Array(0),
    ]) {
      const error = catchError(() => codec.decode(garbage));
      expect(error).toBeInstanceOf(OiafedError);
      expect(error.code).toBe('BAD_FRAME');
    }
  });

  it('answers a well-formed value that is not a frame with BAD_FRAME naming the problem', () => {
    const encode = (value: unknown) => codec.encode(value as Envelope);
    expect(catchError(() => codec.decode(encode({ kind: 'launch', id: 1 }))).message).toMatch(
      /unknown frame kind "launch"/,
    );
    expect(
      catchError(() =>
        codec.decode(encode({ kind: 'call', id: 'x', src: 'a', dst: 'b', method: 'm', args: [] })),
      ).message,
    ).toMatch(/malformed call/);
    expect(catchError(() => codec.decode(encode([9, 2, 3]))).message).toMatch(/unknown frame code 9/);
    expect(catchError(() => codec.decode(encode([0, 1, 'm', 'not a list']))).message).toMatch(
      /malformed call/,
    );
    expect(catchError(() => codec.decode(encode(5))).message).toMatch(/not an object/);
  });

  it('sends the frames of direct calls as tuples: smaller still, and the same frame back', () => {
    const direct = { kind: 'call', id: 7, method: 'add', args: [1, 2] } as unknown as Envelope;
    const bytes = codec.encode(direct);
    expect(bytes[0]).toBe(0x94); // a MessagePack array of four
    expect(bytes.byteLength).toBeLessThanOrEqual(11);
    expect(new Codec().decode(bytes)).toEqual(direct);
  });

  it('sends relayed frames by layout id (no field names), readable by any other codec', () => {
    const frame = call([1, 2]);
    const bytes = codec.encode(frame);
    expect(bytes.byteLength).toBeLessThan(24);
    expect(new Codec().decode(bytes)).toEqual(frame);
    const unusual = { ...frame, meta: { token: 't' } };
    expect(new Codec().decode(codec.encode(unusual))).toEqual(unusual);
  });

  it('gives each decoded byte array its own memory: the next frame decoded does not change it', () => {
    // What msgpackr writes as plain bin (read back as a view unless told to copy): a Buffer in Node, a
    // Uint8Array in browsers.
    const bin = (values: number[]) =>
      (globalThis as { Buffer?: { from(v: number[]): Uint8Array } }).Buffer?.from(values) ??
      new Uint8Array(values);
    const first = roundTrip(codec, call([bin([1, 2, 3])])) as CallFrame;
    roundTrip(codec, call([bin([9, 9, 9])]));
    expect(Array.from(first.args[0] as Uint8Array)).toEqual([1, 2, 3]);
    const value = codec.decodeValue(codec.encodeValue(bin([4, 5]))) as Uint8Array;
    codec.decodeValue(codec.encodeValue(bin([7, 7])));
    expect(Array.from(value)).toEqual([4, 5]);
  });

  it('decodes byte strings to plain Uint8Arrays even from a Buffer, small frame or large', () => {
    // In Node a Buffer is what msgpackr writes as a plain byte string, and what sockets deliver.
    const Buffer = (globalThis as { Buffer?: { from(v: Uint8Array): Uint8Array } }).Buffer;
    for (const size of [16, 10_000]) {
      const value = new Uint8Array(size).fill(7);
      const bytes = codec.encode(call([Buffer ? Buffer.from(value) : value]));
      const back = (codec.decode(Buffer ? Buffer.from(bytes) : bytes) as CallFrame).args[0] as Uint8Array;
      expect(Object.getPrototypeOf(back)).toBe(Uint8Array.prototype);
      expect(back.byteLength).toBe(size);
      expect(back[size - 1]).toBe(7);
    }
  });

  it('never lets a __proto__ key reach an object prototype', () => {
    const frame = call([JSON.parse('{"__proto__": {"polluted": true}}')]);
    const back = (roundTrip(codec, frame) as CallFrame).args[0] as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(back.polluted).toBeUndefined();
  });
});

describe('Codec decoding state', () => {
  const hex = (text: string) => Uint8Array.from(text.match(/../g)!, (byte) => parseInt(byte, 16));
  const ping = { kind: 'ping', t: 41 } as const;
  const relayed: CallFrame = {
    kind: 'call',
    id: 9,
    src: 'learner-1',
    dst: 'learner-2',
    method: 'train',
    args: [{ round: 2 }],
  };

  /** What every honest peer sends next, read by `codec`: the same frames back, or the test fails. */
  function expectHonestFrames(codec: Codec) {
    const sender = new Codec();
    expect(codec.decode(sender.encode(ping))).toEqual(ping);
    expect(codec.decode(sender.encode({ kind: 'pong', t: 42 }))).toEqual({ kind: 'pong', t: 42 });
    expect(codec.decode(sender.encode(relayed))).toEqual(relayed);
  }

  const layouts = [
    { kind: 'call', id: 1, method: 'm', args: [1] },
    { kind: 'result', id: 1, value: 'v' },
    { kind: 'event', id: 0, name: 'e', payload: null },
    { kind: 'error', id: 1, error: { name: 'E', message: 'm' } },
    { kind: 'ack', id: 1 },
    { kind: 'call', id: 1, src: 'a', dst: 'b', method: 'm', args: [1] },
    { kind: 'result', id: 1, src: 'a', dst: 'b', value: 'v' },
    { kind: 'event', id: 0, src: 'a', dst: '*', name: 'e', payload: null },
    { kind: 'error', id: 1, src: 'a', dst: 'b', error: { name: 'E', message: 'm' } },
    { kind: 'ack', id: 1, src: 'a', dst: 'b' },
    { kind: 'ping', t: 3 },
  ];
  layouts.forEach((frame, slot) => {
    it(`sends ${JSON.stringify(Object.keys(frame))} by its shared layout id ${slot} and reads it back the same`, () => {
      const codec = new Codec();
      const bytes = codec.encodeValue(frame);
      expect(bytes[0]).toBe(0x40 + slot);
      expect(new Codec().decodeValue(bytes)).toEqual(frame);
      if (frame.kind === 'ping' || 'src' in frame)
        expect(new Codec().decode(codec.encode(frame as Envelope))).toEqual(frame);
    });
  });

  it('refuses the seven bytes that redefined the ping layout, and then reads honest pings, pongs and relayed calls on that codec and any other', () => {
    const codec = new Codec();
    const other = new Codec();
    expect(catchError(() => codec.decode(hex('d4724a91a178c0'))).code).toBe('BAD_FRAME');
    expectHonestFrames(codec);
    expectHonestFrames(other);
  });

  for (let slot = 0; slot < layouts.length; slot++) {
    it(`refuses a message that redefines shared layout ${slot}, even as a valid frame, and later frames read the same`, () => {
      const codec = new Codec();
      // Slot `slot` redefined as ['kind', 't'] and read as a valid ping in the same message.
      const redefining = Uint8Array.from([0xd4, 0x72, 0x40 + slot, ...hex('92a46b696e64a174a470696e6705')]);
      const error = catchError(() => codec.decode(redefining));
      expect(error.code).toBe('BAD_FRAME');
      expect(error.message).toMatch(/redefines a shared frame layout/);
      expectHonestFrames(codec);
      expectHonestFrames(new Codec());
    });
  }

  it('keeps what a message defines in a slot of its own to that message: a later message cannot use it', () => {
    const codec = new Codec();
    for (let slot = layouts.length; slot < 64; slot++) {
      // Defines `slot` as ['kind', 't'] and reads a ping with it: the way honest encoders send objects of no
      // shared layout.
      const defining = Uint8Array.from([0xd4, 0x72, 0x40 + slot, ...hex('92a46b696e64a174a470696e6705')]);
      expect(codec.decode(defining)).toEqual({ kind: 'ping', t: 5 });
      // The same slot, not defined again: read as the number the byte stands for, not as the layout above.
      expect(codec.decodeValue(Uint8Array.from([0x40 + slot]))).toBe(0x40 + slot);
      expect(
        catchError(() => codec.decode(Uint8Array.from([0x40 + slot, ...hex('a4706f6e6707')]))).code,
      ).toBe('BAD_FRAME');
      expect(
        catchError(() => codec.decode(Uint8Array.from([0xd4, 0x72, 0x40 + slot, 0x91, 0xa1, 0x78, 0xc0])))
          .code,
      ).toBe('BAD_FRAME');
    }
    expectHonestFrames(codec);
  });

  it('keeps two-byte record definitions (which msgpackr files under other keys) to their message too', () => {
    const codec = new Codec();
    for (const [first, high] of [
      [0x40, 0],
      [0x4a, 0],
      [0x4a, 1],
      [0x41, 7],
      [0x5f, 255],
      [0x60, 0],
      [0x60, 1],
      [0x7f, 255],
    ] as const) {
      const defining = Uint8Array.from([0xd5, 0x72, first, high, ...hex('92a46b696e64a174a470696e6705')]);
      const outcome = (() => {
        try {
          return codec.decode(defining);
        } catch (error) {
          return error;
        }
      })();
      // Either read as the ping it spells or refused: never anything else, and never kept.
      if (outcome instanceof Error) expect(outcome).toMatchObject({ code: 'BAD_FRAME' });
      else expect(outcome).toEqual({ kind: 'ping', t: 5 });
      // A later reference to the same id through its first byte's layout: nothing is there any more.
      expect(
        catchError(() => codec.decode(Uint8Array.from([first, high, ...hex('a4706f6e6707')]))).code,
      ).toBe('BAD_FRAME');
      expectHonestFrames(codec);
    }
  });

  it('refuses a value that contains itself (msgpackr structured-clone references), which no codec of ours writes', () => {
    const cyclic: Record<string, unknown> = { round: 1 };
    cyclic.self = cyclic;
    // msgpackr declares a Node Buffer, a type the core's tests compile without.
    const bytes = new Packr({ structuredClone: true }).pack([0, 1, 'train', [cyclic]]) as Uint8Array;
    expect(catchError(() => new Codec().decode(bytes)).code).toBe('BAD_FRAME');
    expect(catchError(() => new Codec().decodeValue(bytes)).code).toBe('BAD_FRAME');
  });

  it('reads what a codec of the previous release wrote: the same bytes for every frame', () => {
    const hello = {
      kind: 'hello',
      version: 2,
      src: 'l1',
      role: 'learner',
      capabilities: ['x'],
      metadata: { a: 1 },
    };
    // As msgpackr with the shared layouts and own records wrote it before this change (and still does).
    const bytes = hex(
      'd4724b96a46b696e64a776657273696f6ea3737263a4726f6c65ac6361706162696c6974696573a86d65746164617461a568656c6c6f02a26c31a76c6561726e657291a178d4724c91a16101',
    );
    expect(Array.from(new Codec().encode(hello as Envelope))).toEqual(Array.from(bytes));
    expect(new Codec().decode(bytes)).toEqual(hello);
  });
});

function catchError(fn: () => unknown): OiafedError {
  try {
    fn();
  } catch (error) {
    return error as OiafedError;
  }
  throw new Error('expected a throw');
}
