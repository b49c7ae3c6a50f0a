import { afterEach, describe, expect, it } from 'vitest';
import { Node } from '../rpc/node.js';
import { eventTargetEndpoint, PortLink, type MessageTargetLike, type PortEncoding } from './port-link.js';
import { nextEvent } from '../test-support.js';
import { transfer } from '../rpc/transfer.js';

// The platform's MessageChannel (Node and browsers both have one): real structured cloning.
const { MessageChannel } = globalThis as unknown as {
  MessageChannel: new () => { port1: MessageTargetLike; port2: MessageTargetLike };
};

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

async function overChannel(hubEncoding: PortEncoding, leafEncoding: PortEncoding) {
  const channel = new MessageChannel();
  const hub = new Node({ id: 'hub', heartbeat: false });
  const leaf = new Node({ id: 'leaf', heartbeat: false });
  nodes.push(hub, leaf);
  const hubLink = new PortLink(eventTargetEndpoint(channel.port1), { encoding: hubEncoding });
  hub.accept(hubLink);
  await leaf.connect(new PortLink(eventTargetEndpoint(channel.port2), { encoding: leafEncoding }));
  return { hub, leaf, channel, hubLink };
}

describe('PortLink', () => {
  for (const [a, b] of [
    ['clone', 'clone'],
    ['msgpack', 'msgpack'],
    ['clone', 'msgpack'],
  ] as const) {
    it(`carries calls and typed arrays over a MessageChannel (${a} / ${b})`, async () => {
      const { hub, leaf } = await overChannel(a, b);
      leaf.handle('scale', (w: Float32Array, k: number) => w.map((x) => x * k));
      const out = (await hub.call('leaf', 'scale', [new Float32Array([1, 2, 3]), 2])) as Float32Array;
      expect(out).toBeInstanceOf(Float32Array);
      expect(Array.from(out)).toEqual([2, 4, 6]);
    });
  }

  it('transfers marked buffers instead of copying them: the sender loses them', async () => {
    const { hub, leaf } = await overChannel('clone', 'clone');
    leaf.handle('sum', (w: Float32Array) => w.reduce((s, x) => s + x, 0));
    const weights = new Float32Array([1, 2, 3]);
    expect(await hub.call('leaf', 'sum', [transfer(weights, [weights.buffer])])).toBe(6);
    expect(weights.buffer.byteLength).toBe(0);
  });

  it('closes with BAD_FRAME on a message that is not a frame, telling the sender', async () => {
    const { hub, channel } = await overChannel('clone', 'clone');
    const error = nextEvent(hub.events, 'LINK_ERROR');
    const dropped = nextEvent(hub.events, 'CLIENT_DISCONNECTED');
    const reply = new Promise<unknown>((resolve) =>
      channel.port2.addEventListener(
        'message',
        (event) =>
          (event.data as { kind?: string } | null | undefined)?.kind === 'error' && resolve(event.data),
      ),
    );
    channel.port2.postMessage({ kind: 'call', id: 'not a number' });
    expect((await error)[0].code).toBe('BAD_FRAME');
    expect((await dropped)[0].reason).toMatch(/BAD_FRAME/);
    expect(await reply).toMatchObject({ kind: 'error', error: { code: 'BAD_FRAME' } });
  });
});
