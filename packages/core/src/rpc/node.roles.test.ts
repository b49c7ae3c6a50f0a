import { afterEach, describe, expect, it } from 'vitest';
import { star } from '../test-support.js';
import type { Star } from '../test-support.js';

let net: Star | undefined;
afterEach(() => net?.close());

describe('Node: methods served to some roles, and confined roles', () => {
  it('serves a role-restricted method to direct peers of that role only: a call relayed from another role is refused', async () => {
    net = await star(2, { hub: { relay: 'all' } });
    const a = net.leaves[0]!;
    const b = net.leaves[1]!;
    b.serve({ reset: () => 'done' }, { roles: ['trainer'] });
    expect(await net.hub.call('leaf-1', 'reset', [])).toBe('done');
    // Through the hub (a trainer), leaf-0 is not one: the hub vouches for no one's role but its own.
    await expect(a.call('leaf-1', 'reset', [])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('confines a role to the methods served to it, and lifts it', async () => {
    net = await star(1);
    const leaf = net.leaves[0]!;
    net.hub.handle('open', () => 'anyone');
    net.hub.serve({ mine: () => 'learners' }, { roles: ['learner'] });
    const lift = net.hub.confine('learner');
    await expect(leaf.call('hub', 'open', [])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await leaf.call('hub', 'mine', [])).toBe('learners');
    lift();
    expect(await leaf.call('hub', 'open', [])).toBe('anyone');
  });
});
