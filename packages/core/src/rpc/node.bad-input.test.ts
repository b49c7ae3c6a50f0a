import { afterEach, describe, expect, it } from 'vitest';
import { Codec } from '../wire/codec.js';
import { PROTOCOL_VERSION, type Envelope } from '../wire/envelope.js';
import { FramedLink } from '../links/framed-link.js';
import { MemoryPort } from '../links/memory-channel.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import { nextEvent, withTimeout } from '../test-support.js';

/** A peer that writes raw bytes at a node, as a broken or hostile client would. */
function rawBytesPeer(hub: Node, maxFrameBytes = 4096) {
  const [nodeSide, rawSide] = MemoryPort.pair<Uint8Array>();
  hub.accept(new FramedLink(nodeSide, { codec: new Codec({ maxFrameBytes }) }));
  const codec = new Codec();
  const frames: Envelope[] = [];
  const closed = new Promise<string>((resolve) =>
    rawSide.listen({ data: (bytes) => frames.push(codec.decode(bytes)), close: resolve }),
  );
  return {
    send: (bytes: Uint8Array) => rawSide.send(bytes),
    frames,
    closed: withTimeout(closed, 3_000, 'no close'),
    codec,
  };
}

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

async function hubWithHonestLearner() {
  const hub = new Node({ id: 'hub', heartbeat: false });
  const honest = new Node({ id: 'honest', heartbeat: false });
  nodes.push(hub, honest);
  honest.handle('train', (x: number) => x + 1);
  await joinInMemory(hub, honest, { strict: true });
  return { hub, honest };
}

describe('bad input', () => {
  it('answers garbage bytes with BAD_FRAME, closes that link, and keeps serving the others', async () => {
    const { hub } = await hubWithHonestLearner();
    const raw = rawBytesPeer(hub);
    const linkError = nextEvent(hub.events, 'LINK_ERROR');
    raw.send(new Uint8Array([0xc1, 0xde, 0xad, 0xbe, 0xef]));
    expect(await raw.closed).toMatch(/BAD_FRAME/);
    expect(raw.frames[0]).toMatchObject({ kind: 'error', id: 0, error: { code: 'BAD_FRAME' } });
    expect((await linkError)[0].code).toBe('BAD_FRAME');
    expect(await hub.call('honest', 'train', [1])).toBe(2);
  });

  it('answers a frame over the size limit with PAYLOAD_TOO_LARGE before decoding it', async () => {
    const { hub } = await hubWithHonestLearner();
    const raw = rawBytesPeer(hub, 1024);
    raw.send(
      raw.codec.encode({
        kind: 'hello',
        version: PROTOCOL_VERSION,
        src: 'big',
        role: 'learner',
        capabilities: [],
        metadata: { pad: 'x'.repeat(5000) },
      }),
    );
    expect(await raw.closed).toMatch(/PAYLOAD_TOO_LARGE/);
    expect(raw.frames[0]).toMatchObject({ kind: 'error', error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(hub.registry.get('big')).toBeUndefined();
    expect(await hub.call('honest', 'train', [2])).toBe(3);
  });

  it('answers an unknown frame kind with BAD_FRAME', async () => {
    const { hub } = await hubWithHonestLearner();
    const raw = rawBytesPeer(hub);
    raw.send(raw.codec.encode({ kind: 'exec', code: 'rm -rf /' } as unknown as Envelope));
    expect(await raw.closed).toMatch(/unknown frame kind "exec"/);
    expect(await hub.call('honest', 'train', [3])).toBe(4);
  });

  it('answers a chunk that belongs to no frame with BAD_FRAME', async () => {
    const { hub } = await hubWithHonestLearner();
    const raw = rawBytesPeer(hub);
    raw.send(raw.codec.encode({ kind: 'chunk', id: 1, index: 1, count: 2, data: new Uint8Array(3) }));
    expect(await raw.closed).toMatch(/BAD_FRAME: chunk/);
    expect(await hub.call('honest', 'train', [4])).toBe(5);
  });

  it('does not lose the honest learner in-flight call while another link is thrown out', async () => {
    const { hub, honest } = await hubWithHonestLearner();
    let release: () => void = () => undefined;
    honest.handle('slow', () => new Promise<string>((resolve) => (release = () => resolve('kept'))));
    const inFlight = hub.call('honest', 'slow', []);
    await hub.call('honest', 'train', [0]);
    const raw = rawBytesPeer(hub);
    raw.send(new Uint8Array([1, 2, 3]));
    await raw.closed;
    release();
    expect(await inFlight).toBe('kept');
  });
});
