import { connectPeer, Federation, maxAbsDiff, Node, type FederationMember, type Link, type OiafedError, type PeerLike } from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LinearLearner, linearData, linearLearner, memoryReference, REFERENCE_RUN, zeroLinearWeights } from '../../core/src/fl/linear-learner.test-support.js';
import { nextEvent, withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
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

async function trainerOver(server: SignallingServer, options: ConstructorParameters<typeof Node>[0] = {}): Promise<Node> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, ...options });
  cleanup.push(() => trainer.close());
  const p = await serveWebRtc(trainer, { signalling: server });
  cleanup.push(() => p.destroy());
  return trainer;
}

async function learnerOver(server: SignallingServer, id: string, options: ConstructorParameters<typeof Node>[0] = {}): Promise<{ node: Node; peer: PeerLike & { destroy(): void } }> {
  const node = new Node({ id, role: 'learner', heartbeat: false, ...options });
  cleanup.push(() => node.close());
  const p = await peer(id, server);
  await node.connect(await openDataChannel(p, 'trainer'));
  return { node, peer: p };
}

/**
 * A data channel to `id`, tried up to three times: on a loaded 2-core machine one occasionally
 * fails to open (joinFederation's uplink retries the same way; these tests call connectPeer bare).
 */
async function openDataChannel(p: PeerLike, id: string): Promise<Link> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectPeer(p, id, { timeout: 5_000 });
    } catch (error) {
      if (attempt === 3 || (error as OiafedError).code !== 'TIMEOUT') throw error;
    }
  }
}

describe('WebRTC mode (Node peers, PeerJS over node-datachannel)', () => {
  it('runs the same trainer and learner code as memory mode and reaches the same global weights', async () => {
    const inMemory = await memoryReference();
    const server = await signalling();
    const trainer = await trainerOver(server);
    for (let index = 0; index < 3; index++) (await learnerOver(server, `learner-${index}`)).node.serve(linearLearner(index));
    const overWebRtc = await new Federation({ node: trainer, ...REFERENCE_RUN }).start();
    expect(overWebRtc.history.map((r) => r.results)).toEqual([3, 3, 3]);
    expect(maxAbsDiff(overWebRtc.weights, inMemory.weights)).toBeLessThanOrEqual(1e-5);
  });

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
    const { node, peer: learnerPeer } = await learnerOver(server, 'learner-0', { heartbeat: { interval: 50, timeout: 300 } });
    node.handle('hang', () => new Promise(() => undefined));
    const pending = trainer.call('learner-0', 'hang', [], { timeout: 60_000 });
    const gone = nextEvent(trainer.events, 'CLIENT_DISCONNECTED', 5_000);
    await trainer.call('learner-0', 'getWeights', []).catch(() => undefined); // the hang call is in
    learnerPeer.destroy();
    expect((await gone)[0].id).toBe('learner-0');
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});

describe('joinFederation over WebRTC (Node learners)', () => {
  const heartbeat = { interval: 50, timeout: 400 };

  async function member(server: SignallingServer, options: Partial<Parameters<typeof joinFederation>[0]> = {}): Promise<FederationMember> {
    const m = await joinFederation({ signalling: `http://${server.host}:${server.port}/`, trainer: 'trainer', id: 'learner-0', learner: new LinearLearner(linearData(1, 20)), heartbeat, ...options });
    cleanup.push(() => m.close());
    return m;
  }

  it('joins a trainer peer, and after the trainer and its signalling server restart joins again under the same id', async () => {
    const firstServer = await servePeerSignalling();
    const first = new Node({ id: 'trainer', role: 'trainer', heartbeat });
    const firstPeer = await serveWebRtc(first, { signalling: firstServer });
    // Short attempts: one that fails to open on a loaded machine is retried well within the wait.
    const m = await member(firstServer, { retry: { initialDelay: 20, maxDelay: 200 }, link: { timeout: 5_000 }, signallingTimeout: 3_000 });
    expect(first.registry.get('learner-0')?.state).toBe('connected');
    const statuses: string[] = [];
    const history: string[] = [];
    m.events.on('status', (s) => (statuses.push(s.state), history.push(`${s.state}${s.error ? ` (${s.error.message})` : ''}`)));
    const dropped = new Promise<void>((resolve) => m.events.on('status', (s) => s.state === 'disconnected' && resolve()));
    firstPeer.destroy();
    first.close();
    await firstServer.close();
    await withTimeout(dropped, 5_000, 'the learner did not notice the trainer leave');

    const server = await signalling(firstServer.port);
    const trainer = await trainerOver(server, { heartbeat });
    const rejoined = new Promise<void>((resolve) => m.events.on('status', (s) => s.state === 'registered' && resolve()));
    await withTimeout(rejoined, 25_000, 'the learner did not join the restarted trainer').catch((error: Error) => {
      throw new Error(`${error.message}; its statuses: ${history.join(', ')}`);
    });
    expect(statuses).toContain('reconnecting');
    expect(trainer.registry.get('learner-0')?.state).toBe('connected');
    const result = await new Federation({ node: trainer, rounds: 1, minClients: 1, initialWeights: zeroLinearWeights() }).start();
    expect(result.history[0]!.results).toBe(1);
  }, 45_000);

  it('fails fast with NOT_CONNECTED when no peer has the trainer id (not after the open timeout)', async () => {
    const server = await signalling();
    const started = Date.now();
    await expect(member(server, { trainer: 'nobody', retry: { maxAttempts: 1 } })).rejects.toMatchObject({ code: 'NOT_CONNECTED', message: expect.stringContaining('nobody') });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rejects (does not crash) when the signalling port is taken', async () => {
    const server = await signalling();
    await expect(servePeerSignalling({ port: server.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('refuses an id another peer holds with INVALID_CONFIG', async () => {
    const server = await signalling();
    await trainerOver(server);
    await expect(createPeer('trainer', { signalling: server })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});

function checksum(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum = (sum + values[i]! * ((i % 7) + 1)) % 1e9;
  return sum;
}
