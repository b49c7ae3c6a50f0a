import { connectPeer, Federation, maxAbsDiff, Node, type PeerLike } from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { linearLearner, memoryReference, REFERENCE_RUN } from '../../core/src/fl/linear-learner.test-support.js';
import { nextEvent } from '../../core/src/test-support.js';
import { createPeer, servePeerSignalling, serveWebRtc, type SignallingServer } from './webrtc.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function signalling(): Promise<SignallingServer> {
  const server = await servePeerSignalling();
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
  await node.connect(await connectPeer(p, 'trainer'));
  return { node, peer: p };
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

function checksum(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum = (sum + values[i]! * ((i % 7) + 1)) % 1e9;
  return sum;
}
