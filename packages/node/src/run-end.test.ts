import {
  Federation,
  Node,
  type FederationMember,
  type FederationOptions,
  type MemberState,
} from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { linearLearner } from '../../core/src/fl/linear-learner.test-support.js';
import { nextEvent, withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
import { serveWebSocket } from './web-socket-server.js';
import { servePeerSignalling, serveWebRtc } from './webrtc.js';

// Issue #13: when a run ends, its learners are told, become finished, and never connect again.
// A learner that did reconnect would do so at once (retry delay 0) on losing its link; the server
// counts the connections it is offered, and a second learner's whole join after the first one's
// link closed bounds the time in which such a reconnect would have shown.

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const AT_ONCE = { initialDelay: 0, maxDelay: 0, jitter: 0 };

function trainerNode(): Node {
  const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  cleanup.push(() => node.close());
  return node;
}

function run(node: Node, options: Partial<FederationOptions> = {}): Federation {
  return new Federation({ node, rounds: 2, seed: 5, config: { lr: 0.05 }, ...options });
}

/** The member's states from now on. */
function statesOf(member: FederationMember): MemberState[] {
  const states: MemberState[] = [];
  member.events.on('status', (s) => states.push(s.state));
  return states;
}

describe('the end of a run over WebSocket (Node learners)', () => {
  async function setUp() {
    const trainer = trainerNode();
    const server = await serveWebSocket(trainer);
    cleanup.push(() => server.close());
    const sockets: WebSocket[] = [];
    server.wss.on('connection', (socket: WebSocket) => sockets.push(socket));
    const join = async (id: string, index: number) => {
      const member = await joinFederation({
        url: server.url,
        id,
        learner: linearLearner(index),
        heartbeat: false,
        retry: AT_ONCE,
      });
      cleanup.push(() => member.close());
      return member;
    };
    return { trainer, sockets, join };
  }

  it('a completed run: the learner becomes finished with the reason and rounds, closes its link, and does not connect again', async () => {
    const { trainer, sockets, join } = await setUp();
    const member = await join('learner-0', 0);
    expect(sockets).toHaveLength(1);
    const states = statesOf(member);
    const closed = new Promise<number>((resolve) => sockets[0]!.once('close', (code) => resolve(code)));

    expect(await run(trainer).start()).toMatchObject({ reason: 'completed', rounds: 2 });
    expect(await withTimeout(member.finished, 5_000, 'not told the run ended')).toEqual({
      reason: 'completed',
      rounds: 2,
    });
    expect(member.status).toMatchObject({ state: 'finished', reason: 'completed', rounds: 2 });
    expect(await withTimeout(closed, 5_000, 'the learner kept its connection')).toBe(1000);

    // Another learner's whole join, after the first one's link closed at the server.
    const probe = await join('learner-1', 1);
    expect(probe.status.state).toBe('registered');
    expect(sockets).toHaveLength(2);
    expect(trainer.registry.connected()).toEqual(['learner-1']);
    expect(states.slice(-2)).toEqual(['registered', 'finished']);
    expect(member.uplink.status).toBe('closed');
  });

  it('a stopped run: the learners hear stopped and the rounds finished before the stop', async () => {
    const { trainer, join } = await setUp();
    const members = [await join('learner-0', 0), await join('learner-1', 1)];
    const federation = run(trainer, { rounds: 100 });
    federation.events.on('ROUND_FINISHED', (s) => s.round === 1 && federation.stop());
    expect(await federation.start()).toMatchObject({ reason: 'stopped', rounds: 1 });
    for (const member of members) {
      expect(await withTimeout(member.finished, 5_000, `${member.id} not told`)).toEqual({
        reason: 'stopped',
        rounds: 1,
      });
      expect(member.status.state).toBe('finished');
    }
  });
});

describe('the end of a run over WebRTC (Node learners)', () => {
  it('a completed run: the learner becomes finished, lets its peer go, and does not open a data channel again', async () => {
    const signalling = await servePeerSignalling();
    cleanup.push(() => signalling.close());
    const trainer = trainerNode();
    const peer = await serveWebRtc(trainer, { signalling });
    cleanup.push(() => peer.destroy());
    // Data channels learner-0 offers once finished (a retry of a channel that failed to open before is not one).
    let offeredAfter = 0;
    let finished = false;
    peer.on('connection', (connection) => finished && connection.peer === 'learner-0' && (offeredAfter += 1));
    const join = async (id: string, index: number) => {
      const member = await joinFederation({
        signalling: `http://${signalling.host}:${signalling.port}/`,
        trainer: 'trainer',
        id,
        learner: linearLearner(index),
        heartbeat: false,
        retry: AT_ONCE,
        link: { timeout: 5_000 },
      });
      cleanup.push(() => member.close());
      return member;
    };
    const member = await join('learner-0', 0);
    const states = statesOf(member);
    const gone = nextEvent(trainer.events, 'PEER_DISCONNECTED', 10_000);

    expect(await run(trainer).start()).toMatchObject({ reason: 'completed', rounds: 2 });
    expect(await withTimeout(member.finished, 5_000, 'not told the run ended')).toEqual({
      reason: 'completed',
      rounds: 2,
    });
    finished = true;
    expect(member.status).toMatchObject({ state: 'finished', reason: 'completed', rounds: 2 });
    expect((await gone)[0]).toBe('learner-0');

    const probe = await join('learner-1', 1);
    expect(probe.status.state).toBe('registered');
    expect(offeredAfter).toBe(0);
    expect(trainer.registry.connected()).toEqual(['learner-1']);
    expect(states.slice(-2)).toEqual(['registered', 'finished']);
    expect(member.uplink.status).toBe('closed');
  }, 30_000);
});
