import { afterEach, describe, expect, it, vi } from 'vitest';
import { joinInMemory } from '../connect/join-in-memory.js';
import { memoryLinkPair } from '../links/memory-link.js';
import type { RelayPolicy } from '../membership/relay-policy.js';
import { Node } from '../rpc/node.js';
import { withTimeout } from '../test-support.js';
import { Federation, type FederationOptions } from './federation.js';
import { LinearLearner, linearData } from './linear-learner.test-support.js';
import { FederationMember, type MemberOptions } from './member.js';
import { readRunEndNotice, RUN_END_EVENT } from './run-end.js';

const nodes: Node[] = [];
const members: FederationMember[] = [];
afterEach(() => {
  members.splice(0).forEach((m) => m.close());
  nodes.splice(0).forEach((n) => n.close());
});

function trainerNode(relay: RelayPolicy = 'none'): Node {
  const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, relay });
  nodes.push(node);
  return node;
}

/** A member joined to `trainer` over strict memory links, reconnecting at once if its link drops. */
async function member(
  trainer: Node,
  id: string,
  options: Partial<MemberOptions> = {},
): Promise<FederationMember> {
  const m = await FederationMember.join({
    id,
    learner: new LinearLearner(linearData(id.length, 20)),
    heartbeat: false,
    retry: { initialDelay: 0, maxDelay: 0, jitter: 0 },
    connect: async () => {
      const [trainerSide, learnerSide] = memoryLinkPair({ strict: true });
      trainer.accept(trainerSide);
      return learnerSide;
    },
    ...options,
  });
  members.push(m);
  return m;
}

const finishedWithin = (m: FederationMember, ms = 3_000) =>
  withTimeout(m.finished, ms, `${m.id} not finished`);
const run = (trainer: Node, options: Partial<FederationOptions> = {}) =>
  new Federation({ node: trainer, rounds: 2, config: { lr: 0.05 }, ...options });

describe('the end of a run, as learners hear it', () => {
  it('a completed run: each member becomes finished with the reason and rounds, and leaves for good', async () => {
    const trainer = trainerNode();
    const [a, b] = [await member(trainer, 'a'), await member(trainer, 'b')];
    const states: string[] = [];
    a.events.on('status', (s) => states.push(s.state));
    const result = await run(trainer).start();
    expect(result.reason).toBe('completed');
    expect(await finishedWithin(a)).toEqual({ reason: 'completed', rounds: 2 });
    expect(await finishedWithin(b)).toEqual({ reason: 'completed', rounds: 2 });
    expect(a.status).toMatchObject({ state: 'finished', reason: 'completed', rounds: 2 });
    // Straight from the last round to finished: the uplink closing is not shown as 'closed' or a reconnect.
    expect(states.slice(-2)).toEqual(['registered', 'finished']);
    expect(a.uplink.status).toBe('closed');
    expect(a.node.closed).toBe(true);
    expect(trainer.registry.connected()).toEqual([]);
  });

  it('reaches its learners when the trainer closes right after start() settles: the notice goes out before the bye', async () => {
    const trainer = trainerNode();
    const a = await member(trainer, 'a');
    await run(trainer, { rounds: 1 }).start();
    trainer.close();
    expect(await finishedWithin(a)).toEqual({ reason: 'completed', rounds: 1 });
  });

  it('a stop condition gives condition', async () => {
    const trainer = trainerNode();
    const a = await member(trainer, 'a');
    await run(trainer, { rounds: 5, stopWhen: (s) => s.round === 3 }).start();
    expect(await finishedWithin(a)).toEqual({ reason: 'condition', rounds: 3 });
  });

  it('a stopped run gives stopped, with the last round finished before the stop', async () => {
    const trainer = trainerNode();
    const a = await member(trainer, 'a');
    const federation = run(trainer, { rounds: 100 });
    federation.events.on('ROUND_FINISHED', (s) => s.round === 2 && federation.stop());
    expect((await federation.start()).reason).toBe('stopped');
    expect(await finishedWithin(a)).toEqual({ reason: 'stopped', rounds: 2 });
    expect(a.status.state).toBe('finished');
  });

  it('a failed run gives failed', async () => {
    const trainer = trainerNode();
    const broken = new LinearLearner(linearData(1, 20));
    broken.train = () => {
      throw new Error('no data');
    };
    const a = await member(trainer, 'a', { learner: broken });
    await expect(run(trainer).start()).rejects.toMatchObject({ code: 'ROUND_FAILED' });
    expect(await finishedWithin(a)).toEqual({ reason: 'failed', rounds: 0 });
  });

  it('stop(reason, { final: false }) does not tell the learners: they stay registered and keep serving', async () => {
    const trainer = trainerNode();
    const a = await member(trainer, 'a');
    const federation = run(trainer, { rounds: 100 });
    federation.events.on(
      'ROUND_FINISHED',
      (s) => s.round === 1 && federation.stop('interrupted', { final: false }),
    );
    expect((await federation.start()).reason).toBe('stopped');
    // A call after start() settled follows any notice on the same link: it is answered, so none came.
    await trainer.call('a', 'getWeights', []);
    expect(a.status.state).toBe('registered');
    expect(a.node.closed).toBe(false);
  });

  it('ignores a notice from anyone but its trainer (another learner, through a relay that lets it pass)', async () => {
    const trainer = trainerNode('all');
    const a = await member(trainer, 'a');
    const intruder = new Node({ id: 'intruder', role: 'learner', heartbeat: false });
    nodes.push(intruder);
    await joinInMemory(trainer, intruder, { strict: true });
    // Acknowledged: it resolves once the member's handler has run on it.
    await intruder.emitWithAck('a', RUN_END_EVENT, { reason: 'completed', rounds: 9 });
    await trainer.call('a', 'getWeights', []);
    expect(a.status.state).toBe('registered');
    expect(a.node.closed).toBe(false);
    const settled = await Promise.race([a.finished, Promise.resolve('pending')]);
    expect(settled).toBe('pending');
  });

  it('takes the payload as hostile input: an unknown reason is unknown, a bad round count is 0', async () => {
    const trainer = trainerNode();
    const a = await member(trainer, 'a');
    await trainer.emitWithAck('a', RUN_END_EVENT, { reason: 'toString', rounds: -3 });
    expect(await finishedWithin(a)).toEqual({ reason: 'unknown', rounds: 0 });
    expect(a.status).toMatchObject({ state: 'finished', reason: 'unknown', rounds: 0 });
    const read = (payload: unknown) => readRunEndNotice(payload);
    expect(read(null)).toEqual({ reason: 'unknown', rounds: 0 });
    expect(read('completed')).toEqual({ reason: 'unknown', rounds: 0 });
    expect(read([1, 2])).toEqual({ reason: 'unknown', rounds: 0 });
    expect(read({ reason: '__proto__', rounds: 1.5 })).toEqual({ reason: 'unknown', rounds: 0 });
    expect(read({ reason: 'stopped', rounds: Number.NaN })).toEqual({ reason: 'stopped', rounds: 0 });
    expect(read({ reason: 'failed', rounds: 1e300 })).toEqual({ reason: 'failed', rounds: 0 });
    expect(read({ reason: 'condition', rounds: '3' })).toEqual({ reason: 'condition', rounds: 0 });
    expect(read({ reason: 'completed', rounds: 7 })).toEqual({ reason: 'completed', rounds: 7 });
  });

  it('finished settles with closed when the member is closed first, and with lost when its uplink gives up', async () => {
    const trainer = trainerNode();
    const a = await member(trainer, 'a');
    a.close();
    expect(await finishedWithin(a)).toEqual({ reason: 'closed', rounds: 0 });
    expect(a.status.state).toBe('closed');

    const b = await member(trainer, 'b', { retry: { maxAttempts: 1 } });
    trainer.close();
    expect(await finishedWithin(b)).toEqual({ reason: 'lost', rounds: 0 });
    expect(b.status.state).toBe('failed');
  });

  it('learners that take no part in the notice (plain nodes in memory mode) answer it, and the trainer reports nothing', async () => {
    const warn = vi.spyOn(console, 'warn');
    try {
      const trainer = trainerNode();
      const failed: string[] = [];
      trainer.events.on('EVENT_FAILED', (e, ev) => failed.push(`${ev.name}: ${e.code}`));
      const plain = new Node({ id: 'plain', role: 'learner', heartbeat: false });
      nodes.push(plain);
      plain.serve(new LinearLearner(linearData(3, 20)));
      await joinInMemory(trainer, plain, { strict: true });
      await run(trainer).start();
      // Answers come back in order on the link: by this call's result, the notice's answer was handled.
      await trainer.call('plain', 'getWeights', []);
      expect(failed).toEqual([]);
      expect(warn).not.toHaveBeenCalled();
      expect(trainer.stats.strayAnswers).toBe(0);
      expect(plain.closed).toBe(false);
    } finally {
      warn.mockRestore();
    }
  });
});
