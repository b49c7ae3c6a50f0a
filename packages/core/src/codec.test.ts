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
    const value = { buffer, view, map: new Map([['k', 1]]), set: new Set([1, 2]), date: new Date(5), big: 2n ** 70n };
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
    expect(() => small.decode(bytes)).toThrowError(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(() => small.encode(call([new Uint8Array(4096)]))).toThrowError(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
  });

  it('answers garbage bytes with BAD_FRAME', () => {
    for (const garbage of [new Uint8Array([0xc1, 0xff, 0x00]), Uint8Array.from('hello world', (c) => c.charCodeAt(0)), new Uint8Array(0)]) {
      const error = catchError(() => codec.decode(garbage));
      expect(error).toBeInstanceOf(OiafedError);
      expect(error.code).toBe('BAD_FRAME');
    }
  });

  it('answers a well-formed value that is not a frame with BAD_FRAME naming the problem', () => {
    const encode = (value: unknown) => codec.encode(value as Envelope);
    expect(catchError(() => codec.decode(encode({ kind: 'launch', id: 1 }))).message).toMatch(/unknown frame kind "launch"/);
    expect(catchError(() => codec.decode(encode({ kind: 'call', id: 'x', src: 'a', dst: 'b', method: 'm', args: [] }))).message).toMatch(/malformed call/);
    expect(catchError(() => codec.decode(encode([9, 2, 3]))).message).toMatch(/unknown frame code 9/);
    expect(catchError(() => codec.decode(encode([0, 1, 'm', 'not a list']))).message).toMatch(/malformed call/);
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
    // What msgpackr writes as plain bin (read back as a view unless told to copy): a Buffer in Node, a Uint8Array in browsers.
    const bin = (values: number[]) => (globalThis as { Buffer?: { from(v: number[]): Uint8Array } }).Buffer?.from(values) ?? new Uint8Array(values);
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

function catchError(fn: () => unknown): OiafedError {
  try {
    fn();
  } catch (error) {
    return error as OiafedError;
  }
  throw new Error('expected a throw');
}
