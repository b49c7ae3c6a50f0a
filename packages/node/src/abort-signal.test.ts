import { CancelScope, joinInMemory, Node } from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

async function pair(): Promise<Node> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  const learner = new Node({ id: 'learner', role: 'learner', heartbeat: false });
  nodes.push(trainer, learner);
  learner.serve({ hang: () => new Promise(() => undefined) });
  await joinInMemory(trainer, learner);
  return trainer;
}

// Compiled against @types/node, where AbortSignal is the platform's: call options take it as it is.
describe('call signals', () => {
  it("take a platform AbortSignal: aborting it rejects the call with ABORTED and the abort's reason", async () => {
    const trainer = await pair();
    const controller = new AbortController();
    const call = trainer.call('learner', 'hang', [], { signal: controller.signal });
    controller.abort('user pressed stop');
    await expect(call).rejects.toMatchObject({
      code: 'ABORTED',
      message: expect.stringContaining('user pressed stop'),
    });
  });

  it('take a CancelScope without a cast: aborting the scope rejects every call under it', async () => {
    const trainer = await pair();
    const scope = new CancelScope();
    const calls = [1, 2].map(() => trainer.call('learner', 'hang', [], { signal: scope }));
    scope.abort('round over');
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
