import { afterEach, describe, expect, it } from 'vitest';
import { Codec } from '../wire/codec.js';
import { PROTOCOL_VERSION, type Envelope } from '../wire/envelope.js';
import { FramedLink } from '../links/framed-link.js';
import { MemoryPort } from '../links/memory-channel.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import { withTimeout } from '../test-support.js';

/*
 * The frames that ended a real server (issue #11), sent to a node in this process: each is refused
 * as BAD_FRAME naming its field, only the sender's link is closed, and an honest learner keeps
 * being served.
 */

const uncallable = { toString: 1, valueOf: 1 };

/** A peer that writes raw bytes at `hub` through `codec` (shared with other links when given). */
function rawPeer(hub: Node, codec = new Codec()) {
  const [nodeSide, rawSide] = MemoryPort.pair<Uint8Array>();
  hub.accept(new FramedLink(nodeSide, { codec }));
  const own = new Codec();
  const waiting: ((frame: Envelope) => void)[] = [];
  const closed = new Promise<string>((resolve) =>
    rawSide.listen({
      data: (bytes) => waiting.splice(0).forEach((deliver) => deliver(own.decode(bytes))),
      close: resolve,
    }),
  );
  return {
    send: (frame: unknown) => rawSide.send(own.encode(frame as Envelope)),
    sendBytes: (bytes: Uint8Array) => rawSide.send(bytes),
    next: () => withTimeout(new Promise<Envelope>((resolve) => waiting.push(resolve)), 3_000, 'no frame'),
    closed: withTimeout(closed, 3_000, 'no close'),
  };
}

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

async function hubWithHonestLearner(codec?: Codec) {
  const hub = new Node({ id: 'hub', heartbeat: false });
  const honest = new Node({ id: 'honest', heartbeat: false });
  nodes.push(hub, honest);
  honest.handle('train', (x: number) => x + 1);
  await joinInMemory(hub, honest, { strict: true, ...(codec ? { codec } : {}) });
  return hub;
}

const nested = (depth: number) => {
  let error: Record<string, unknown> = { name: 'E', message: 'bottom' };
  for (let i = 0; i < depth; i++) error = { name: 'E', message: 'm', cause: error };
  return error;
};

describe('hostile frames at a node', () => {
  it('closes, as BAD_FRAME naming the field, a link whose first frame is a bye with an object for a reason', async () => {
    const hub = await hubWithHonestLearner();
    const raw = rawPeer(hub);
    raw.send({ kind: 'bye', src: 'mallory', reason: uncallable });
    expect(await raw.closed).toMatch(/BAD_FRAME: malformed bye frame: reason/);
    expect(await hub.call('honest', 'train', [1])).toBe(2);
  });

  const afterHello: [string, Record<string, unknown>, RegExp][] = [
    [
      'an object for its event',
      { kind: 'error', id: 0, error: { name: 'E', message: 'm' }, event: uncallable },
      /malformed error frame: event/,
    ],
    [
      'an object for its cause message',
      { kind: 'error', id: 0, error: { name: 'E', message: 'm', cause: { name: 'E', message: uncallable } } },
      /malformed error frame: error\.cause\.message/,
    ],
    [
      'a cause 5 deep',
      { kind: 'error', id: 0, error: nested(5) },
      /malformed error frame: error has causes nested deeper than 4/,
    ],
    [
      'a request id past 2^31',
      { kind: 'error', id: 2 ** 40, error: { name: 'E', message: 'm' } },
      /malformed error frame: id/,
    ],
  ];
  for (const [what, frame, reason] of afterHello) {
    it(`closes, after its hello, the link of a peer that sends an error frame with ${what}`, async () => {
      const hub = await hubWithHonestLearner();
      const raw = rawPeer(hub);
      const welcome = raw.next();
      raw.send({
        kind: 'hello',
        version: PROTOCOL_VERSION,
        src: 'mallory',
        role: 'learner',
        capabilities: [],
        metadata: {},
      });
      expect(await welcome).toMatchObject({ kind: 'welcome', dst: 'mallory' });
      raw.send(frame);
      expect(await raw.closed).toMatch(reason);
      expect(await hub.call('honest', 'train', [2])).toBe(3);
    });
  }

  it('refuses the seven bytes that redefined the ping layout, where all links share one codec, and that codec still reads pongs', async () => {
    const shared = new Codec();
    const hub = await hubWithHonestLearner(shared);
    const raw = rawPeer(hub, shared);
    raw.sendBytes(Uint8Array.from([0xd4, 0x72, 0x4a, 0x91, 0xa1, 0x78, 0xc0]));
    expect(await raw.closed).toMatch(/BAD_FRAME/);
    expect(await hub.call('honest', 'train', [3])).toBe(4);
    expect(shared.decode(new Codec().encode({ kind: 'pong', t: 5 }))).toEqual({ kind: 'pong', t: 5 });
  });
});
