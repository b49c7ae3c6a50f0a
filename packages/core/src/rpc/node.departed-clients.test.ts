import { afterEach, describe, expect, it } from 'vitest';
import { memoryLinkPair } from '../links/memory-link.js';
import { onceWithTimeout } from '../wire/signals.js';
import type { ClientInfo } from '../membership/registry.js';
import { nextEvent, nodeMaker } from '../test-support.js';
import { Node } from './node.js';

const make = nodeMaker(afterEach);

/** Resolves once `n` clients of `hub` have left (said goodbye or dropped), in at most `ms`. */
function departures(hub: Node, n: number, ms = 10_000): Promise<void> {
  return onceWithTimeout(ms, `${n} departures`, (settle) => {
    let left = 0;
    const count = () => {
      if (++left === n) settle.resolve();
    };
    hub.events.on('CLIENT_UNREGISTERED', count);
    hub.events.on('CLIENT_DISCONNECTED', count);
    return () => {
      hub.events.off('CLIENT_UNREGISTERED', count);
      hub.events.off('CLIENT_DISCONNECTED', count);
    };
  });
}

/**
 * Learner nodes join `hub` under `ids` over memory links, then leave in that order: the even ones
 * say goodbye (unregistered), the odd ones lose their link (disconnected). Resolves once the hub
 * saw every departure.
 */
async function comeAndGo(hub: Node, ids: readonly string[]): Promise<void> {
  const learners = ids.map((id) => {
    const [hubSide, learnerSide] = memoryLinkPair({ strict: true });
    hub.accept(hubSide);
    return { node: new Node({ id, role: 'learner', heartbeat: false }), link: learnerSide };
  });
  await Promise.all(learners.map(({ node, link }) => node.connect(link)));
  const gone = departures(hub, learners.length);
  learners.forEach(({ node, link }, i) =>
    i % 2 === 0 ? node.close('tab closed') : link.close('cable pulled'),
  );
  await gone;
  for (const { node } of learners) node.close();
}

async function join(hub: Node, id: string): Promise<ClientInfo> {
  const registered = nextEvent(hub.events, 'CLIENT_REGISTERED');
  const [hubSide, learnerSide] = memoryLinkPair({ strict: true });
  hub.accept(hubSide);
  await make(id, { role: 'learner' }).connect(learnerSide);
  return (await registered)[0];
}

describe('departed clients', () => {
  it('holds the connected learners and at most recentDeparted of 20,000 that came and went: the registry does not grow with the ids it saw', async () => {
    const hub = make('trainer', { role: 'trainer', registry: { recentDeparted: 100 } });
    const stayers = ['stay-0', 'stay-1', 'stay-2'];
    for (const id of stayers) await join(hub, id);
    const sizes = new Set<number>();
    const batch = 200;
    for (let start = 0; start < 20_000; start += batch) {
      await comeAndGo(
        hub,
        Array.from({ length: batch }, (_, i) => `tab-${start + i}`),
      );
      expect(hub.registry.list().length).toBeLessThanOrEqual(100 + hub.registry.connected().length);
      sizes.add(hub.registry.size);
    }
    // After every batch: the 3 stayers and the last 100 to leave, whatever the number of ids seen.
    expect([...sizes]).toEqual([103]);
    expect(hub.registry.list()).toHaveLength(103);
    expect(hub.registry.connected().sort()).toEqual(stayers);
    expect(hub.registry.get('tab-19899')).toBeUndefined();
    expect(hub.registry.get('tab-19900')).toMatchObject({ state: 'unregistered', reason: 'tab closed' });
    expect(hub.registry.get('tab-19999')).toMatchObject({ state: 'disconnected', reason: 'cable pulled' });
    // Nor does anything else the hub keeps per id: routes are only the stayers'.
    expect(hub.peers().sort()).toEqual(stayers);
  }, 120_000);

  it('recognises a learner that comes back within the recent list (previous: the state it left in) and treats one beyond it as new', async () => {
    const hub = make('trainer', { role: 'trainer', registry: { recentDeparted: 2 } });
    await comeAndGo(hub, ['old', 'mid', 'new']);
    // 'old' left first, so with room for 2 it is the one forgotten.
    expect(hub.registry.list().map((c) => c.id)).toEqual(['mid', 'new']);
    const returning = await join(hub, 'new');
    expect(returning).toMatchObject({ id: 'new', state: 'connected', previous: 'unregistered' });
    expect(returning).not.toHaveProperty('reason');
    expect(hub.registry.get('new')).toBe(returning);
    const back = await join(hub, 'mid');
    expect(back.previous).toBe('disconnected');
    const stranger = await join(hub, 'old');
    expect(stranger).not.toHaveProperty('previous');
    expect(hub.registry.connected()).toEqual(['new', 'mid', 'old']);
    expect(hub.registry.size).toBe(3);
  });
});
