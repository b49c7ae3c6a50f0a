import { afterEach, describe, expect, it } from 'vitest';
import { Codec } from '../wire/codec.js';
import type { CallFrame, Envelope } from '../wire/envelope.js';
import {
  authInterceptor,
  compressionInterceptor,
  estimateBytes,
  loggingInterceptor,
  type Interceptor,
} from './interceptors.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import type { Link } from '../links/link.js';

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

async function pair(hubInterceptors: Interceptor[], leafInterceptors: Interceptor[]) {
  const hub = new Node({ id: 'hub', heartbeat: false, interceptors: hubInterceptors });
  const leaf = new Node({ id: 'leaf', heartbeat: false, interceptors: leafInterceptors });
  nodes.push(hub, leaf);
  await joinInMemory(hub, leaf, { strict: true });
  return { hub, leaf };
}

describe('interceptors', () => {
  it('log each data frame going out and coming in', async () => {
    const lines: string[] = [];
    const { hub, leaf } = await pair([loggingInterceptor((l) => lines.push(l))], []);
    leaf.handle('train', () => 1);
    await hub.call('leaf', 'train', []);
    expect(lines).toEqual(['>> call#1 train hub -> leaf', '<< result#1 leaf -> hub']);
  });

  it('stamp a token on calls and events and refuse those without it with UNAUTHORIZED', async () => {
    const { hub, leaf } = await pair([authInterceptor('s3cret')], [authInterceptor('s3cret')]);
    leaf.handle('train', () => 'ok');
    expect(await hub.call('leaf', 'train', [])).toBe('ok');
    const intruder = new Node({ id: 'intruder', heartbeat: false });
    nodes.push(intruder);
    await joinInMemory(leaf, intruder);
    await expect(intruder.call('leaf', 'train', [])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    leaf.on('evt', () => undefined);
    await expect(intruder.emitWithAck('leaf', 'evt', 1)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('compress large payloads on the wire and restore them exactly', async () => {
    const hub = new Node({
      id: 'hub',
      heartbeat: false,
      interceptors: [compressionInterceptor({ threshold: 1024 })],
    });
    const leaf = new Node({
      id: 'leaf',
      heartbeat: false,
      interceptors: [compressionInterceptor({ threshold: 1024 })],
    });
    nodes.push(hub, leaf);
    const [a, b] = memoryLinkPair({ record: true });
    hub.accept(a);
    await leaf.connect(b);
    leaf.handle('echo', (w: Float32Array) => w);
    const weights = new Float32Array(64 * 1024).map((_, i) => i % 7);
    const back = (await hub.call('leaf', 'echo', [weights])) as Float32Array;
    expect(back).toBeInstanceOf(Float32Array);
    expect(back).toEqual(weights);
    const sent = (a as Link & { sent: Envelope[] }).sent.find((f): f is CallFrame => f.kind === 'call')!;
    expect(sent.meta?.z).toBe('deflate-raw');
    const wire = new Codec().encode(sent).byteLength;
    expect(wire).toBeLessThan(weights.byteLength / 4);
  });

  it('keep frames of one link in order while an interceptor is asynchronous', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const slowFirst: Interceptor = {
      name: 'slow-first',
      outbound: async (f) => {
        if (f.kind === 'event' && f.payload === 0) await gate;
        return f;
      },
    };
    const { hub, leaf } = await pair([slowFirst], []);
    const got: unknown[] = [];
    const done = new Promise<void>((resolve) =>
      leaf.on('n', (n) => {
        got.push(n);
        if (got.length === 5) resolve();
      }),
    );
    for (let n = 0; n < 5; n++) hub.emit('leaf', 'n', n);
    open(); // frame 0 is released only after 1-4 were queued behind it
    await done;
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuse a compressed payload that inflates past the limit with PAYLOAD_TOO_LARGE', async () => {
    const hub = new Node({
      id: 'hub',
      heartbeat: false,
      interceptors: [compressionInterceptor({ threshold: 1024 })],
    });
    const leaf = new Node({
      id: 'leaf',
      heartbeat: false,
      interceptors: [compressionInterceptor({ threshold: 1024, maxBytes: 100_000 })],
    });
    nodes.push(hub, leaf);
    await joinInMemory(hub, leaf);
    leaf.handle('take', () => 'taken');
    await expect(hub.call('leaf', 'take', [new Uint8Array(1_000_000)])).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
  });

  it('estimate payload sizes from typed arrays and strings', () => {
    expect(estimateBytes([new Float32Array(10), { s: 'abcd' }])).toBe(44);
  });
});
