import {
  ConnectError,
  Federation,
  Node,
  type FederationMember,
  type OiafedError,
  type ServerLimits,
} from '@oiafed/core';
import { Codec, connectPeer, type Envelope, type PeerLike } from '@oiafed/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LinearLearner,
  linearData,
  linearLearner,
  zeroLinearWeights,
} from '../../core/src/fl/linear-learner.test-support.js';
import { nextEvent, withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
import { closedPort } from './ports.test-support.js';
import { openDataChannel } from './webrtc.test-support.js';
import { createPeer, servePeerSignalling, serveWebRtc, type SignallingServer } from './webrtc.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function signalling(port = 0): Promise<SignallingServer> {
  const server = await servePeerSignalling({ port });
  cleanup.push(() => server.close());
  return server;
}

async function peer(id: string, server: SignallingServer): Promise<PeerLike & { destroy(): void }> {
  const p = await createPeer(id, { signalling: server });
  cleanup.push(() => p.destroy());
  return p;
}

async function trainerOver(
  server: SignallingServer,
  options: ConstructorParameters<typeof Node>[0] = {},
  limits: Partial<ServerLimits> = {},
): Promise<Node> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, ...options });
  cleanup.push(() => trainer.close());
  const p = await serveWebRtc(trainer, { signalling: server, limits });
  cleanup.push(() => p.destroy());
  return trainer;
}

async function learnerOver(
  server: SignallingServer,
  id: string,
  options: ConstructorParameters<typeof Node>[0] = {},
): Promise<{ node: Node; peer: PeerLike & { destroy(): void } }> {
  const node = new Node({ id, role: 'learner', heartbeat: false, ...options });
  cleanup.push(() => node.close());
  const p = await peer(id, server);
  await node.connect(await openDataChannel(p, 'trainer'));
  return { node, peer: p };
}

describe('WebRTC mode (Node peers, PeerJS over node-datachannel)', () => {
  it('carries a 50 MB payload both ways intact, paced under the channel limits, while heartbeats hold', async () => {
    const heartbeat = { interval: 50, timeout: 400 };
    const server = await signalling();
    const trainer = await trainerOver(server, { heartbeat });
    const { node } = await learnerOver(server, 'learner-0', { heartbeat });
    node.handle('echo', (w: Float32Array) => w);
    let lost = false;
    trainer.events.on('CLIENT_DISCONNECTED', () => (lost = true));
    node.events.on('PEER_DISCONNECTED', () => (lost = true));
    const weights = new Float32Array((50 * 1024 * 1024) / 4).map((_, i) => (i % 9973) / 3);
    const back = (await trainer.call('learner-0', 'echo', [weights], { timeout: 120_000 })) as Float32Array;
    expect(back.length).toBe(weights.length);
    expect(checksum(back)).toBe(checksum(weights));
    expect(lost).toBe(false);
    expect(trainer.registry.get('learner-0')?.state).toBe('connected');
  }, 120_000);

  it('reports a learner whose peer goes away, and rejects its pending calls at once', async () => {
    const server = await signalling();
    const trainer = await trainerOver(server, { heartbeat: { interval: 50, timeout: 300 } });
    const { node, peer: learnerPeer } = await learnerOver(server, 'learner-0', {
      heartbeat: { interval: 50, timeout: 300 },
    });
    node.handle('hang', () => new Promise(() => undefined));
    const pending = trainer.call('learner-0', 'hang', [], { timeout: 60_000 });
    const gone = nextEvent(trainer.events, 'CLIENT_DISCONNECTED', 5_000);
    await trainer.call('learner-0', 'getWeights', []).catch(() => undefined); // the hang call is in
    learnerPeer.destroy();
    expect((await gone)[0].id).toBe('learner-0');
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});

describe('WebRTC budgets (the same FramedLink limits as over WebSocket)', () => {
  /** A data channel opened by hand, as a hostile peer would: raw bytes out, the trainer's frames and close in. */
  async function rawChannel(server: SignallingServer, id: string) {
    const p = await peer(id, server);
    const connection = p.connect('trainer', { serialization: 'raw', reliable: true });
    const codec = new Codec();
    const frames: Envelope[] = [];
    connection.on('data', (data) => frames.push(codec.decode(new Uint8Array(data as ArrayBuffer))));
    const closed = withTimeout(
      new Promise<void>((resolve) => connection.on('close', resolve)),
      5_000,
      `${id}'s channel not closed`,
    );
    await withTimeout(
      new Promise<void>((resolve) => connection.on('open', resolve)),
      5_000,
      `${id}'s channel not open`,
    );
    return { connection, frames, closed, send: (frame: Envelope) => connection.send(codec.encode(frame)) };
  }

  it('gives a stranger on a data channel only what a hello needs: chunks are BAD_FRAME, larger messages PAYLOAD_TOO_LARGE', async () => {
    const server = await signalling();
    const trainer = await trainerOver(server, {}, { helloBytes: 1024 });
    const errors: string[] = [];
    trainer.events.on('LINK_ERROR', (error) => errors.push(`${error.code}: ${error.message}`));
    const chunked = await rawChannel(server, 'chunker');
    chunked.send({ kind: 'chunk', id: 1, index: 0, count: 2, data: new Uint8Array(10) });
    await chunked.closed;
    const large = await rawChannel(server, 'large');
    large.send({ kind: 'event', id: 0, src: 'large', dst: 'trainer', name: 'e', payload: 'x'.repeat(4096) });
    await large.closed;
    expect(errors).toEqual([
      expect.stringMatching(/^BAD_FRAME: chunk frame before the handshake/),
      expect.stringMatching(/^PAYLOAD_TOO_LARGE: a message of \d+ bytes before the handshake/),
    ]);
    expect(chunked.frames[0]).toMatchObject({ kind: 'error', error: { code: 'BAD_FRAME' } });
    // The trainer serves learners all the same.
    const { node } = await learnerOver(server, 'learner-0');
    node.serve(linearLearner(0));
    expect(await trainer.call('learner-0', 'getWeights', [])).toBeDefined();
  });

  it('holds at most maxConnections data channels: one more offered is closed, and room comes back when one leaves', async () => {
    const server = await signalling();
    const trainer = await trainerOver(server, {}, { maxConnections: 1 });
    const first = await learnerOver(server, 'learner-0');
    const extra = await peer('learner-1', server);
    // Closed before it opens: the offer goes unanswered, or the channel ends at once.
    const refused = await connectPeer(extra, 'trainer', { timeout: 3_000 }).then(
      (link) =>
        new Promise<string>((resolve) =>
          link.listen({ frame: () => undefined, close: () => resolve('closed') }),
        ),
      (error: unknown) => (error as OiafedError).code,
    );
    expect(['TIMEOUT', 'NOT_CONNECTED', 'closed']).toContain(refused);
    expect(trainer.registry.get('learner-1')).toBeUndefined();
    // The data channel's close reaches the trainer through SCTP: past 5 s once in a full CI run.
    const left = nextEvent(trainer.events, 'CLIENT_UNREGISTERED', 15_000);
    first.node.disconnect('trainer');
    await left;
    const again = await learnerOver(server, 'learner-2');
    again.node.serve(linearLearner(2));
    expect(await trainer.call('learner-2', 'getWeights', [])).toBeDefined();
  }, 40_000);
});

describe('joinFederation over WebRTC (Node learners)', () => {
  const heartbeat = { interval: 50, timeout: 400 };

  async function member(
    server: SignallingServer,
    options: Partial<Parameters<typeof joinFederation>[0]> = {},
  ): Promise<FederationMember> {
    const m = await joinFederation({
      signalling: `http://${server.host}:${server.port}/`,
      trainer: 'trainer',
      id: 'learner-0',
      learner: new LinearLearner(linearData(1, 20)),
      heartbeat,
      ...options,
    });
    cleanup.push(() => m.close());
    return m;
  }

  it('joins a trainer peer, and after the trainer and its signalling server restart joins again under the same id', async () => {
    const firstServer = await servePeerSignalling();
    const first = new Node({ id: 'trainer', role: 'trainer', heartbeat });
    const firstPeer = await serveWebRtc(first, { signalling: firstServer });
    // Short attempts: one that fails to open on a loaded machine is retried well within the wait.
    const m = await member(firstServer, {
      retry: { initialDelay: 20, maxDelay: 200 },
      link: { timeout: 5_000 },
      signallingTimeout: 3_000,
    });
    expect(first.registry.get('learner-0')?.state).toBe('connected');
    const statuses: string[] = [];
    const history: string[] = [];
    m.events.on(
      'status',
      (s) => (statuses.push(s.state), history.push(`${s.state}${s.error ? ` (${s.error.message})` : ''}`)),
    );
    const dropped = new Promise<void>((resolve) =>
      m.events.on('status', (s) => s.state === 'disconnected' && resolve()),
    );
    firstPeer.destroy();
    first.close();
    await firstServer.close();
    await withTimeout(dropped, 5_000, 'the learner did not notice the trainer leave');

    const server = await signalling(firstServer.port);
    const trainer = await trainerOver(server, { heartbeat });
    const rejoined = new Promise<void>((resolve) =>
      m.events.on('status', (s) => s.state === 'registered' && resolve()),
    );
    await withTimeout(rejoined, 25_000, 'the learner did not join the restarted trainer').catch(
      (error: unknown) => {
        throw new Error(`${(error as Error).message}; its statuses: ${history.join(', ')}`);
      },
    );
    expect(statuses).toContain('reconnecting');
    expect(trainer.registry.get('learner-0')?.state).toBe('connected');
    const result = await new Federation({
      node: trainer,
      rounds: 1,
      minClients: 1,
      initialWeights: zeroLinearWeights(),
    }).start();
    expect(result.history[0]!.results).toBe(1);
  }, 45_000);

  it('fails fast with NOT_CONNECTED when no peer has the trainer id (not after the open timeout)', async () => {
    const server = await signalling();
    const started = Date.now();
    await expect(member(server, { trainer: 'nobody', retry: { maxAttempts: 1 } })).rejects.toMatchObject({
      code: 'NOT_CONNECTED',
      message: expect.stringContaining('nobody'),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a signalling server that is not there: connecting from the first attempt, then failed with the cause', async () => {
    const states: string[] = [];
    const error = await joinFederation({
      signalling: `http://127.0.0.1:${await closedPort()}/`,
      trainer: 'trainer',
      learner: new LinearLearner(linearData(1, 20)),
      heartbeat: false,
      retry: { maxAttempts: 2, initialDelay: 10, maxDelay: 10 },
      onStatus: (s) => states.push(s.state),
    }).then(
      (m) => (m.close(), undefined),
      (e: unknown) => e,
    );
    expect(states[0]).toBe('connecting');
    expect(states.at(-1)).toBe('failed');
    expect(new Set(states.slice(0, -1))).toEqual(new Set(['connecting']));
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'NOT_CONNECTED', failure: 'network', attempts: 2 });
  });

  it('rejects (does not crash) when the signalling port is taken', async () => {
    const server = await signalling();
    await expect(servePeerSignalling({ port: server.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('refuses an id another peer holds with INVALID_CONFIG', async () => {
    const server = await signalling();
    await trainerOver(server);
    await expect(createPeer('trainer', { signalling: server })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});

function checksum(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum = (sum + values[i]! * ((i % 7) + 1)) % 1e9;
  return sum;
}
