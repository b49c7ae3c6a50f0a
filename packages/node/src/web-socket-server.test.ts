import {
  Federation,
  maxAbsDiff,
  Node,
  PROTOCOL_VERSION,
  type FederationMember,
  type FederationResult,
  type Learner,
} from '@oiafed/core';
import { Codec, type Envelope } from '@oiafed/core/internal';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  LinearLearner,
  linearData,
  linearLearner,
  REFERENCE_RUN,
} from '../../core/src/fl/linear-learner.test-support.js';
import { nextEvent, withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
import { serveWebSocket, type WebSocketTrainerServer } from './web-socket-server.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function trainerServer(
  options: Parameters<typeof serveWebSocket>[1] = {},
  node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false }),
) {
  const server = await serveWebSocket(node, options);
  cleanup.push(
    () => server.close(),
    () => node.close(),
  );
  return { node, server };
}

async function learner(
  server: WebSocketTrainerServer,
  index: number,
  extra: Partial<Parameters<typeof joinFederation>[0]> = {},
): Promise<FederationMember> {
  const member = await joinFederation({
    url: server.url,
    id: `learner-${index}`,
    learner: linearLearner(index),
    heartbeat: false,
    ...extra,
  });
  cleanup.push(() => member.close());
  return member;
}

/** A raw `ws` client that speaks frames by hand. */
function rawClient(url: string, options: WebSocket.ClientOptions = {}) {
  const codec = new Codec();
  const socket = new WebSocket(url, options);
  const frames: Envelope[] = [];
  /** What the server's link said first: the largest message it takes (link level; frames holds the node's). */
  let limits: Envelope | undefined;
  const waiters: ((f: Envelope) => void)[] = [];
  socket.on('message', (data: Buffer) => {
    const frame = codec.decode(data);
    if (frame.kind === 'limits') return void (limits = frame);
    frames.push(frame);
    waiters.splice(0).forEach((w) => w(frame));
  });
  const closed = withTimeout(
    new Promise<{ code: number; reason: string }>((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    ),
    5_000,
    'socket not closed',
  );
  const opened = withTimeout(
    new Promise<void>(
      (resolve, reject) => (socket.once('open', () => resolve()), socket.once('error', reject)),
    ),
    5_000,
    'socket not open',
  );
  return {
    socket,
    opened,
    closed,
    frames,
    limits: () => limits,
    send: (frame: Envelope | Uint8Array | string) =>
      socket.send(typeof frame === 'string' || frame instanceof Uint8Array ? frame : codec.encode(frame)),
    hello: (src: string, extra: object = {}) =>
      socket.send(
        codec.encode({
          kind: 'hello',
          version: PROTOCOL_VERSION,
          src,
          role: 'learner',
          capabilities: [],
          metadata: {},
          ...extra,
        }),
      ),
    next: (test: (f: Envelope) => boolean) =>
      withTimeout(
        new Promise<Envelope>((resolve) => {
          const seen = frames.find(test);
          if (seen) {
            resolve(seen);
            return;
          }
          const wait = (f: Envelope) => (test(f) ? resolve(f) : waiters.push(wait));
          waiters.push(wait);
        }),
        5_000,
        'no such frame',
      ),
  };
}

const federate = (node: Node, extra: Partial<ConstructorParameters<typeof Federation>[0]> = {}) =>
  new Federation({ node, ...REFERENCE_RUN, ...extra }).start();

describe('WebSocket mode', () => {
  describe('bad input: a typed error and close for the sender, while a well-behaved learner finishes its round', () => {
    let node: Node;
    let server: WebSocketTrainerServer;
    let round: Promise<FederationResult>;
    let release: () => void;

    beforeEach(async () => {
      ({ node, server } = await trainerServer(
        { maxPayload: 64 * 1024 },
        new Node({ id: 'trainer', role: 'trainer', heartbeat: false, authenticate: 'sesame' }),
      ));
      const honestLearner: Learner = new LinearLearner(linearData(1, 40));
      const train = honestLearner.train.bind(honestLearner);
      // The honest learner holds its result until the attack has been answered.
      const held = new Promise<void>((resolve) => (release = resolve));
      honestLearner.train = (params) => held.then(() => train(params));
      await joinFederation({
        url: server.url,
        id: 'honest',
        learner: honestLearner,
        token: 'sesame',
        heartbeat: false,
      }).then((m) => cleanup.push(() => m.close()));
      round = new Federation({ node, rounds: 1, config: { lr: 0.05 } }).start();
    });

    /** The honest learner's round completes with its result: the attack cost it nothing. */
    async function honestRoundCompletes(): Promise<void> {
      release();
      expect((await round).history[0]).toMatchObject({ results: 1, failures: [] });
    }

    /** A raw client whose socket is open (it has not said hello). */
    async function stranger() {
      const client = rawClient(server.url);
      await client.opened;
      return client;
    }

    it('garbage bytes: BAD_FRAME (4400), after the server said the largest message it takes', async () => {
      const garbage = await stranger();
      garbage.send(new Uint8Array([0xc1, 0xde, 0xad]));
      expect(await garbage.closed).toMatchObject({ code: 4400, reason: expect.stringMatching(/^BAD_FRAME/) });
      expect(garbage.limits()).toEqual({ kind: 'limits', maxMessage: 64 * 1024 });
      expect(garbage.frames[0]).toMatchObject({ kind: 'error', error: { code: 'BAD_FRAME' } });
      await honestRoundCompletes();
    });

    it('a text message on the binary protocol: 4400', async () => {
      const text = await stranger();
      text.send('{"kind":"hello"}');
      expect(await text.closed).toMatchObject({ code: 4400, reason: expect.stringMatching(/text message/) });
      await honestRoundCompletes();
    });

    it('another protocol version: VERSION_MISMATCH (4426)', async () => {
      const oldVersion = await stranger();
      oldVersion.hello('old', { version: PROTOCOL_VERSION + 1, token: 'sesame' });
      expect(await oldVersion.closed).toMatchObject({ code: 4426 });
      expect(oldVersion.frames[0]).toMatchObject({ kind: 'error', error: { code: 'VERSION_MISMATCH' } });
      await honestRoundCompletes();
    });

    it('a missing or wrong token: UNAUTHORIZED (4401), and the intruder is not registered', async () => {
      const noToken = await stranger();
      noToken.hello('intruder');
      const wrongToken = await stranger();
      wrongToken.hello('intruder', { token: 'guess' });
      expect(await noToken.closed).toMatchObject({ code: 4401 });
      expect(noToken.frames[0]).toMatchObject({ kind: 'error', error: { code: 'UNAUTHORIZED' } });
      expect(await wrongToken.closed).toMatchObject({ code: 4401 });
      expect(node.registry.get('intruder')).toBeUndefined();
      await honestRoundCompletes();
    });

    it('a message over maxPayload: 1009', async () => {
      const huge = await stranger();
      huge.send(new Uint8Array(100 * 1024));
      expect(await huge.closed).toMatchObject({ code: 1009 });
      await honestRoundCompletes();
    });

    it('calls to unknown and prototype method names: METHOD_NOT_FOUND, the link stays up', async () => {
      const prober = await stranger();
      prober.hello('prober', { token: 'sesame' });
      await prober.next((f) => f.kind === 'welcome');
      for (const [id, method] of [
        [1, 'launchMissiles'],
        [2, 'constructor'],
        [3, '__proto__'],
        [4, 'toString'],
      ] as const) {
        prober.send({ kind: 'call', id, src: 'prober', dst: 'trainer', method, args: [] });
      }
      for (const id of [1, 2, 3, 4]) {
        expect(await prober.next((f) => f.kind === 'error' && f.id === id)).toMatchObject({
          error: { code: 'METHOD_NOT_FOUND' },
        });
      }
      await honestRoundCompletes();
      prober.socket.close();
    });

    it('a hello repeated on one link: 4400', async () => {
      const flooder = await stranger();
      for (let i = 0; i < 50; i++) flooder.hello('flooder', { token: 'sesame' });
      expect(await flooder.closed).toMatchObject({
        code: 4400,
        reason: expect.stringMatching(/unexpected hello/),
      });
      await honestRoundCompletes();
    });

    it('an origin that is not allowed: HTTP 403 at the upgrade', async () => {
      const origins = await serveWebSocket(node, { origins: ['http://good.test'] });
      cleanup.push(() => origins.close());
      const wrongOrigin = new WebSocket(origins.url, { headers: { Origin: 'http://evil.test' } });
      const status = await withTimeout(
        new Promise<number>((resolve) =>
          wrongOrigin.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
        ),
        5_000,
        'no response',
      );
      expect(status).toBe(403);
      await honestRoundCompletes();
    });
  });
  it('reconnects with backoff after the trainer restarts, under the same id; pending calls are rejected, not replayed', async () => {
    const first = await trainerServer();
    const member = await learner(first.server, 0, { retry: { initialDelay: 20, maxDelay: 200 } });
    const statuses: string[] = [];
    member.events.on('status', (s) => statuses.push(s.state));
    let calls = 0;
    member.node.handle('slow', () => (calls++, new Promise(() => undefined)));
    const pending = first.node.call('learner-0', 'slow', []);
    await first.node.call('learner-0', 'getWeights', []);
    const port = first.server.port;
    await first.server.close();
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });

    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    const registered = nextEvent(trainer.events, 'CLIENT_REGISTERED', 10_000);
    const rejoined = new Promise<void>((resolve) =>
      member.events.on('status', (s) => s.state === 'registered' && resolve()),
    );
    await trainerServer({ port }, trainer);
    expect((await registered)[0].id).toBe('learner-0');
    await withTimeout(rejoined, 10_000, 'learner not registered again');
    expect(statuses).toContain('disconnected');
    expect(statuses).toContain('reconnecting');
    expect(statuses[statuses.length - 1]).toBe('registered');
    expect(calls).toBe(1); // the slow call was not replayed on the new link
    expect((await federate(trainer, { rounds: 1 })).history[0]!.results).toBe(1);
  });

  it('stops reconnecting after close()', async () => {
    const { node, server } = await trainerServer();
    const member = await learner(server, 0, { retry: { initialDelay: 10, maxDelay: 20 } });
    const left = nextEvent(node.events, 'CLIENT_UNREGISTERED');
    member.close();
    expect((await left)[0].id).toBe('learner-0');
    expect(member.status.state).toBe('closed');
    expect(node.registry.connected()).toEqual([]);
  });

  it('gives up on a refusal instead of retrying it: a wrong token fails the join', async () => {
    const { server } = await trainerServer(
      {},
      new Node({ id: 'trainer', role: 'trainer', heartbeat: false, authenticate: 'sesame' }),
    );
    await expect(
      joinFederation({
        url: server.url,
        learner: new LinearLearner(linearData(1, 4)),
        token: 'nope',
        heartbeat: false,
      }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('takes a 16 MiB model from a learner in one message and hands it on without a copy; under a small maxPayload, in slices below it', async () => {
    for (const maxPayload of [undefined, 256 * 1024]) {
      const { node, server } = await trainerServer(
        maxPayload ? { maxPayload } : {},
        new Node({ id: 'trainer', role: 'trainer', heartbeat: false }),
      );
      let messages = 0;
      let last: Buffer | undefined;
      server.wss.on('connection', (socket) =>
        socket.on('message', (data: Buffer) => (messages++, (last = data))),
      );
      let received: Float32Array | undefined;
      node.handle('upload', (w: Float32Array) => ((received = w), w.length));
      const member = await learner(server, 0);
      const weights = new Float32Array(4 * 1024 * 1024).map((_, i) => i % 977);
      messages = 0;
      expect(await member.node.call('trainer', 'upload', [weights])).toBe(weights.length);
      expect(received).toBeInstanceOf(Float32Array);
      expect(
        maxAbsDiff(
          { w: { shape: [weights.length], data: received! } },
          { w: { shape: [weights.length], data: weights } },
        ),
      ).toBe(0);
      if (maxPayload) expect(messages).toBe(1 + Math.ceil(weights.byteLength / (maxPayload - 64)));
      else {
        expect(messages).toBe(2); // the call frame, then the array whole
        expect(received!.buffer).toBe(last!.buffer); // in the memory the message arrived in
        // And back: a Node learner says what it takes too, so the trainer sends the model whole.
        member.node.handle('take', (w: Float32Array) => w.length);
        expect(await node.call('learner-0', 'take', [weights])).toBe(weights.length);
      }
      await server.close();
    }
  });

  it('a Node learner tells the trainer the largest message it takes, before its hello', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
    await new Promise((resolve) => wss.once('listening', resolve));
    const codec = new Codec();
    const first = new Promise<Envelope[]>((resolve) =>
      wss.once('connection', (socket) => {
        const frames: Envelope[] = [];
        socket.on('message', (data: Buffer) => {
          const frame = codec.decode(data);
          frames.push(frame);
          if (frame.kind !== 'hello') return;
          socket.send(
            codec.encode({
              kind: 'welcome',
              version: PROTOCOL_VERSION,
              src: 'trainer',
              dst: frame.src,
              role: 'trainer',
            }),
          );
          resolve(frames);
        });
      }),
    );
    const member = await joinFederation({
      url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
      id: 'node-learner',
      learner: linearLearner(0),
      heartbeat: false,
    });
    cleanup.push(() => member.close());
    expect((await first).map((f) => f.kind)).toEqual(['limits', 'hello']);
    expect((await first)[0]).toEqual({ kind: 'limits', maxMessage: 100 * 1024 * 1024 });
  });

  it('a Node learner takes only a hello-sized message from a server that has not welcomed it (1009 at the header)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
    await new Promise((resolve) => wss.once('listening', resolve));
    const closed = new Promise<number>((resolve) =>
      wss.once('connection', (socket) => {
        socket.on('close', (code) => resolve(code));
        // Before any welcome, the first 1 MiB of a message that never ends: a learner must refuse
        // it at its header, not buffer it (and more) waiting for the rest.
        socket.send(new Uint8Array(1024 * 1024), { binary: true, fin: false });
      }),
    );
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const refused = expect(
      joinFederation({
        url,
        id: 'node-learner',
        learner: linearLearner(0),
        heartbeat: false,
        retry: { maxAttempts: 1 },
      }),
    ).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(await withTimeout(closed, 5_000, 'learner did not close')).toBe(1009);
    await refused;
  });

  it("counts a message's bytes arriving as the learner being alive, before the message is whole", async () => {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: { interval: 50, timeout: 200 } });
    const { server } = await trainerServer({}, trainer);
    const dropped = new Promise<never>((_, reject) =>
      trainer.events.on('CLIENT_DISCONNECTED', (c) => reject(new Error(`${c.id} dropped: ${c.reason}`))),
    );
    const got = new Promise<number>((resolve) => trainer.on('big', (text: string) => resolve(text.length)));
    const slow = rawClient(server.url);
    await slow.opened;
    slow.hello('slow');
    await slow.next((f) => f.kind === 'welcome');
    // One message, sent in fragments: the next one each time the trainer pings, so it takes 12
    // intervals (three timeouts) to arrive, and no pong can be sent before it is whole.
    const bytes = new Codec().encode({
      kind: 'event',
      id: 0,
      name: 'big',
      payload: 'x'.repeat(120_000),
    } as unknown as Envelope);
    const parts = 12;
    let sent = 0;
    const sendNext = () => {
      const part = bytes.subarray(
        Math.floor((sent * bytes.length) / parts),
        Math.floor(((sent + 1) * bytes.length) / parts),
      );
      sent += 1;
      slow.socket.send(part, { binary: true, fin: sent === parts });
    };
    slow.socket.on('message', () => sent < parts && sendNext());
    sendNext();
    expect(await withTimeout(Promise.race([got, dropped]), 10_000, 'event not delivered')).toBe(120_000);
    expect(trainer.registry.get('slow')?.state).toBe('connected');
    slow.socket.close();
  });

  it('keeps the heartbeat alive while a 48 MB model crosses both ways, intact', async () => {
    const heartbeat = { interval: 20, timeout: 120 };
    const { node, server } = await trainerServer({}, new Node({ id: 'trainer', role: 'trainer', heartbeat }));
    const member = await learner(server, 0, { heartbeat });
    member.node.handle('echo', (w: Float32Array) => w);
    let lost = false;
    node.events.on('CLIENT_DISCONNECTED', () => (lost = true));
    member.node.events.on('PEER_DISCONNECTED', () => (lost = true));
    const weights = new Float32Array(12 * 1024 * 1024).map((_, i) => (i % 1000) / 7);
    const back = (await node.call('learner-0', 'echo', [weights], { timeout: 60_000 })) as Float32Array;
    expect(back.length).toBe(weights.length);
    expect(
      maxAbsDiff(
        { w: { shape: [back.length], data: back } },
        { w: { shape: [weights.length], data: weights } },
      ),
    ).toBe(0);
    expect(lost).toBe(false);
    expect(node.registry.get('learner-0')?.state).toBe('connected');
  });
});
