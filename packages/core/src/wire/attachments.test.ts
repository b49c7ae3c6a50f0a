import { describe, expect, it } from 'vitest';
import { AttachmentRef, checkAttachments, restoreAttachments } from './attachments.js';
import { Codec } from './codec.js';
import type { Envelope } from './envelope.js';
import { OiafedError } from './errors.js';

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe('attachments from a peer', () => {
  it('refuses type names that only a lookup through Object.prototype would find', () => {
    for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const error = thrown(() => checkAttachments([8], [type], 1024));
      expect(error, type).toBeInstanceOf(OiafedError);
      expect((error as OiafedError).code).toBe('BAD_FRAME');
    }
    expect(() => checkAttachments([8, 16], ['Float32Array', 'BigInt64Array'], 1024)).not.toThrow();
  });

  it('refuses sizes that are negative, fractional or no whole number of elements, and totals over the limit', () => {
    for (const sizes of [[-4], [2.5], [6], [NaN], [Infinity]]) {
      expect((thrown(() => checkAttachments(sizes, ['Float32Array'], 1024)) as OiafedError).code).toBe(
        'BAD_FRAME',
      );
    }
    expect(
      (thrown(() => checkAttachments([800, 800], ['Uint8Array', 'Uint8Array'], 1024)) as OiafedError).code,
    ).toBe('PAYLOAD_TOO_LARGE');
  });

  it('puts each attachment back where its ref stands, as its own typed array kind', () => {
    const frame = {
      kind: 'event',
      id: 0,
      name: 'model',
      payload: { w: new AttachmentRef(0), list: [new AttachmentRef(1)] },
    } as unknown as Envelope;
    const restored = restoreAttachments(
      frame,
      [new Uint8Array(8), new Uint8Array(16)],
      ['Float32Array', 'Float64Array'],
    ) as { payload: { w: unknown; list: unknown[] } };
    expect(restored.payload.w).toBeInstanceOf(Float32Array);
    expect((restored.payload.w as Float32Array).length).toBe(2);
    expect(restored.payload.list[0]).toBeInstanceOf(Float64Array);
  });

  it('answers a ref to no attachment with BAD_FRAME, never another exception', () => {
    const refs: unknown[] = [5, -1, 0.5, 'constructor', '__proto__', NaN];
    for (const index of refs) {
      const frame = {
        kind: 'event',
        id: 0,
        name: 'e',
        payload: [new AttachmentRef(index as number)],
      } as unknown as Envelope;
      const error = thrown(() => restoreAttachments(frame, [new Uint8Array(8)], ['Float32Array']));
      expect(error, String(index)).toBeInstanceOf(OiafedError);
      expect((error as OiafedError).code).toBe('BAD_FRAME');
    }
  });

  it('copies an attachment that does not start at a multiple of its element size, instead of throwing', () => {
    const odd = new Uint8Array(9).subarray(1);
    const frame = { kind: 'result', id: 1, value: new AttachmentRef(0) } as unknown as Envelope;
    const restored = restoreAttachments(frame, [odd], ['Float64Array']) as { value: Float64Array };
    expect(restored.value).toBeInstanceOf(Float64Array);
    expect(restored.value.length).toBe(1);
  });

  it('refuses, while decoding, a ref whose index is not a small non-negative integer', () => {
    const codec = new Codec();
    // The AttachmentRef extension (type 42) around a string, a negative number and a huge one.
    for (const inner of [[0xa1, 0x78], [0xff], [0xce, 0xff, 0xff, 0xff, 0xff]]) {
      const bytes = Uint8Array.from([0x94, 0x00, 0x01, 0xa1, 0x6d, 0x91, 0xd4, 42, 0x00, ...inner]);
      const error = thrown(() => codec.decode(bytes));
      expect(error).toBeInstanceOf(OiafedError);
      expect((error as OiafedError).code).toBe('BAD_FRAME');
    }
    // A good one still reads.
    const bytes = Uint8Array.from([0x94, 0x00, 0x01, 0xa1, 0x6d, 0x91, 0xd4, 42, 0x00, 0x03]);
    expect((codec.decode(bytes) as { args: unknown[] }).args[0]).toEqual(new AttachmentRef(3));
  });
});
