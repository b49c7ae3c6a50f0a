import { assert, describe, expect, it } from 'vitest';
import type { CallFrame, Envelope } from '../wire/envelope.js';
import type { Link } from './link.js';
import { MemoryLink, memoryLinkPair } from './memory-link.js';

const call = (id: number, args: unknown[] = []): CallFrame => ({
  kind: 'call',
  id,
  src: 'a',
  dst: 'b',
  method: 'm',
  args,
});

function collect(link: Link) {
  const frames: Envelope[] = [];
  const closed = new Promise<string>((resolve) =>
    link.listen({ frame: (f) => frames.push(f), close: resolve }),
  );
  return { frames, closed };
}

describe('memory links', () => {
  for (const strict of [false, true]) {
    it(`deliver frames in order and keep a send log (strict: ${strict})`, async () => {
      const [a, b] = memoryLinkPair({ strict, record: true });
      const got = collect(b);
      for (let i = 1; i <= 50; i++) a.send(call(i));
      a.close('done');
      expect(await got.closed).toBe('done');
      expect(got.frames.map((f) => (f as CallFrame).id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      if (!strict) {
        assert(a instanceof MemoryLink);
        expect(a.sent?.map((f) => (f as CallFrame).id)).toEqual(got.frames.map((f) => (f as CallFrame).id));
      }
    });
  }

  it('in strict mode refuse payloads a real wire could not carry, naming where they are', () => {
    const [a] = memoryLinkPair({ strict: true });
    class Model {
      weights = new Float32Array(2);
    }
    expect(() => a.send(call(1, [{ fn: () => 1 }]))).toThrow(/frame\.args\[0\]\.fn is a function/);
    expect(() => a.send(call(2, [new Model()]))).toThrow(
      expect.objectContaining({
        code: 'NOT_SERIALIZABLE',
        message: expect.stringMatching(/instance of Model/),
      }),
    );
    expect(() => a.send(call(3, [{ w: new Float32Array(2), m: new Map([[1, 2]]) }]))).not.toThrow();
  });

  it('in strict mode hand the receiver a copy, not the sender objects', async () => {
    const [a, b] = memoryLinkPair({ strict: true });
    const got = collect(b);
    const weights = new Float32Array([1, 2, 3]);
    a.send(call(1, [weights]));
    weights[0] = 99;
    a.close();
    await got.closed;
    const back = (got.frames[0] as CallFrame).args[0] as Float32Array;
    expect(back).not.toBe(weights);
    expect(Array.from(back)).toEqual([1, 2, 3]);
  });
});
