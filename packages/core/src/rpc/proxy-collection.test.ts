import { afterEach, describe, expect, it } from 'vitest';
import { star, type Star } from '../test-support.js';

interface Worker {
  square(x: number): number;
}

let net: Star;
// Unset when a test failed before making its network.
afterEach(() => (net as Star | undefined)?.close());

describe('ProxyCollection', () => {
  it('broadcasts a call and reports every node outcome, failures included, without failing the whole', async () => {
    net = await star(3);
    net.leaves[0]!.handle('square', (x: number) => x * x);
    net.leaves[1]!.handle('square', () => {
      throw new Error('no');
    });
    // leaf-2 serves nothing: METHOD_NOT_FOUND
    const outcomes = await net.hub.proxies<Worker>(['leaf-0', 'leaf-1', 'leaf-2']).broadcast('square', [3]);
    expect(outcomes[0]).toEqual({ id: 'leaf-0', ok: true, value: 9 });
    expect(outcomes[1]).toMatchObject({
      id: 'leaf-1',
      ok: false,
      error: { code: 'REMOTE_ERROR', message: 'no' },
    });
    expect(outcomes[2]).toMatchObject({ id: 'leaf-2', ok: false, error: { code: 'METHOD_NOT_FOUND' } });
  });

  it('collects with per-node arguments, calling only the nodes given', async () => {
    net = await star(3);
    const called: string[] = [];
    net.leaves.forEach((leaf) => leaf.handle('square', (x: number) => (called.push(leaf.id), x * x)));
    const outcomes = await net.hub
      .proxies<Worker>(net.leaves.map((l) => l.id))
      .collect('square', { 'leaf-0': [2], 'leaf-2': [5] });
    expect(outcomes).toEqual([
      { id: 'leaf-0', ok: true, value: 4 },
      { id: 'leaf-2', ok: true, value: 25 },
    ]);
    expect(called.sort()).toEqual(['leaf-0', 'leaf-2']);
  });

  it('gives each node its own timeout and reports outcomes as they arrive', async () => {
    net = await star(2);
    net.leaves[0]!.handle('square', () => new Promise(() => undefined));
    net.leaves[1]!.handle('square', (x: number) => x * x);
    const order: string[] = [];
    const outcomes = await net.hub
      .proxies<Worker>(['leaf-0', 'leaf-1'])
      .broadcast('square', [4], { timeout: 50, onSettled: (o) => order.push(o.id) });
    expect(order).toEqual(['leaf-1', 'leaf-0']);
    expect(outcomes[0]).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(outcomes[1]).toEqual({ id: 'leaf-1', ok: true, value: 16 });
  });

  it('sends acknowledged events to every node', async () => {
    net = await star(2);
    net.leaves[0]!.on('model', () => undefined);
    const outcomes = await net.hub
      .proxies<object, { model: number }>(['leaf-0', 'leaf-1'])
      .emitWithAck('model', 1);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false]);
  });
});
