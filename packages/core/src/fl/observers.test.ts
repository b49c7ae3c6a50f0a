import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../connect/join-in-memory.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { Node } from '../rpc/node.js';
import type { RelayPolicy } from '../membership/relay-policy.js';
import { nextEvent, withTimeout } from '../test-support.js';
import { Federation } from './federation.js';
import { fixed } from './federation.test-support.js';
import {
  CONTROL_METHOD,
  OBSERVER_ROLE,
  serveObservers,
  TELEMETRY_EVENT,
  TELEMETRY_METHOD,
  type ObservedTelemetry,
  type TelemetryNotice,
} from './observers.js';

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

function node(id: string, role: string, relay: RelayPolicy = 'none'): Node {
  const made = new Node({ id, role, heartbeat: false, relay });
  nodes.push(made);
  return made;
}

/** A trainer with two learners (one of them records every call it gets) and a federation, observers served. */
async function watchedRun(options: { adminToken?: string; maxObservers?: number; relay?: RelayPolicy } = {}) {
  const trainer = node('trainer', 'trainer', options.relay);
  // What a user's trainer may serve its learners: an observer must not reach it.
  trainer.handle('secret', () => 'for learners');
  const called: string[] = [];
  for (const [i, learner] of [fixed([1], 0, 10), fixed([3], 0, 30)].entries()) {
    const leaf = node(`learner-${i}`, 'learner');
    leaf.serve(learner);
    leaf.handle('wipe', () => void called.push('wipe'));
    leaf.on('hello', () => void called.push('hello'));
    await joinInMemory(trainer, leaf, { strict: true });
  }
  const federation = new Federation({
    node: trainer,
    rounds: 2,
    minClients: 2,
    initialWeights: fixed([0], 0, 1).update,
  });
  const stop = serveObservers({ node: trainer, federation }, options);
  return { trainer, federation, called, stop };
}

async function observer(trainer: Node, id = 'dashboard'): Promise<Node> {
  const watcher = node(id, OBSERVER_ROLE);
  await joinInMemory(trainer, watcher, { strict: true });
  return watcher;
}

const telemetryOf = (watcher: Node, query: object = {}) =>
  watcher.call('trainer', TELEMETRY_METHOD, [query]) as Promise<ObservedTelemetry>;

describe('observers', () => {
  it('read the telemetry and hear of its changes, and are never selected nor counted as learners', async () => {
    const { trainer, federation } = await watchedRun();
    const watcher = await observer(trainer);
    const notices: TelemetryNotice[] = [];
    watcher.on<TelemetryNotice>(TELEMETRY_EVENT, (notice) => void notices.push(notice));
    const result = await federation.start();
    expect(result.history.every((round) => round.clients.length === 2)).toBe(true);
    expect(result.history[0]!.clients).not.toContain('dashboard');
    const t = await telemetryOf(watcher);
    expect(t).toMatchObject({ state: 'finished', round: 2, controls: false, learners: { connected: 2 } });
    expect(t.points.map((p) => p.round)).toEqual([1, 2]);
    expect(t.clients.map((c) => c.id)).toEqual(['learner-0', 'learner-1']);
    expect(federation.clients()).toEqual(['learner-0', 'learner-1']);
    // Changes are announced (coalesced); the last says the run finished.
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = () => {
          if (notices.at(-1)?.state === 'finished') resolve();
        };
        check();
        watcher.on(TELEMETRY_EVENT, check);
      }),
      5_000,
      'no notice of the finished run',
    );
    expect(notices.at(-1)).toEqual({ state: 'finished', round: 2 });
  });

  it('cannot call a learner, another method of the trainer, or send events, whatever the relay policy', async () => {
    const { trainer, called } = await watchedRun({ relay: 'all' });
    const watcher = await observer(trainer);
    await expect(watcher.call('learner-0', 'wipe', [])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(watcher.call('learner-0', 'train', [{}])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(watcher.call('trainer', 'secret', [])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(watcher.call('trainer', 'no-such-method', [])).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(watcher.emitWithAck('learner-1', 'hello', {})).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(watcher.emitWithAck('trainer', 'hello', {})).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    watcher.emit('*', 'hello', {});
    // The observer is still served after all that, and no learner heard of any of it.
    expect((await telemetryOf(watcher)).learners.connected).toBe(2);
    expect(called).toEqual([]);
    expect(trainer.stats.refusedRelays).toBeGreaterThanOrEqual(3);
  });

  it("refuse learners the observers' methods: a learner can neither read the telemetry nor pause the run", async () => {
    const { trainer, federation } = await watchedRun({ adminToken: 'letmein' });
    const learner = nodes.find((n) => n.id === 'learner-0')!;
    await expect(learner.call('trainer', TELEMETRY_METHOD, [{}])).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(
      learner.call('trainer', CONTROL_METHOD, [{ action: 'pause', token: 'letmein' }]),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(federation.state).toBe('idle');
    expect(trainer.registry.connected(OBSERVER_ROLE)).toEqual([]);
  });

  it('pause, resume and stop a run only with the admin token, compared whole', async () => {
    const { trainer, federation } = await watchedRun({ adminToken: 'letmein' });
    const watcher = await observer(trainer);
    const control = (action: string, token?: string) =>
      watcher.call('trainer', CONTROL_METHOD, [{ action, ...(token === undefined ? {} : { token }) }]);
    // The service's own refusals: errors of its handler, with their code.
    const refused = { code: 'REMOTE_ERROR', remoteCode: 'UNAUTHORIZED' };
    await expect(control('pause')).rejects.toMatchObject(refused);
    await expect(control('pause', 'letmei')).rejects.toMatchObject(refused);
    await expect(control('pause', 'letmein!')).rejects.toMatchObject(refused);
    await expect(control('explode', 'letmein')).rejects.toMatchObject({ remoteCode: 'INVALID_CONFIG' });
    expect(federation.state).toBe('idle');
    expect((await telemetryOf(watcher)).controls).toBe(true);

    const paused = nextEvent(federation.events, 'STATE_CHANGED');
    expect(await control('pause', 'letmein')).toEqual({ state: 'paused' });
    expect(await paused).toEqual(['paused']);
    const run = federation.start();
    expect(federation.history).toHaveLength(0);
    expect(await control('resume', 'letmein')).toEqual({ state: 'running' });
    await nextEvent(federation.events, 'ROUND_FINISHED');
    expect(await control('stop', 'letmein')).toMatchObject({ state: expect.stringMatching(/stopp/) });
    expect((await run).reason).toBe('stopped');
  });

  it('refuse every control when the trainer has no admin token', async () => {
    const { trainer, federation } = await watchedRun();
    const watcher = await observer(trainer);
    await expect(
      watcher.call('trainer', CONTROL_METHOD, [{ action: 'stop', token: '' }]),
    ).rejects.toMatchObject({ remoteCode: 'UNAUTHORIZED', message: expect.stringMatching(/no admin token/) });
    expect(federation.state).toBe('idle');
  });

  it('are bounded in number: one more is refused OVERLOADED at its hello, and the others stay', async () => {
    const { trainer } = await watchedRun({ maxObservers: 2 });
    const first = await observer(trainer, 'dash-1');
    await observer(trainer, 'dash-2');
    await expect(observer(trainer, 'dash-3')).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(trainer.registry.connected(OBSERVER_ROLE)).toEqual(['dash-1', 'dash-2']);
    expect((await telemetryOf(first)).learners.connected).toBe(2);
    first.close();
    await nextEvent(trainer.events, 'CLIENT_UNREGISTERED');
    await observer(trainer, 'dash-3');
  });

  it('may be given links of their own: a learner saying hello on one is refused UNAUTHORIZED', async () => {
    const { trainer } = await watchedRun();
    const [hubSide, leafSide] = memoryLinkPair({ strict: true });
    trainer.accept(hubSide, { roles: [OBSERVER_ROLE] });
    const intruder = node('learner-9', 'learner');
    await expect(intruder.connect(leafSide)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const [hubSide2, leafSide2] = memoryLinkPair({ strict: true });
    trainer.accept(hubSide2, { roles: [OBSERVER_ROLE] });
    const watcher = node('dashboard', OBSERVER_ROLE);
    await watcher.connect(leafSide2);
    expect((await telemetryOf(watcher)).learners.connected).toBe(2);
  });

  it('read nothing once withdrawn', async () => {
    const { trainer, stop } = await watchedRun();
    const watcher = await observer(trainer);
    stop();
    await expect(telemetryOf(watcher)).rejects.toMatchObject({ code: 'METHOD_NOT_FOUND' });
  });
});
