import { describe, expect, it } from 'vitest';
import { CancelScope } from './cancel-scope.js';
import { star } from '../test-support.js';

describe('CancelScope', () => {
  it('calls each listener once on abort, not those removed, and none added afterwards', () => {
    const scope = new CancelScope();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    scope.addEventListener('abort', a);
    scope.addEventListener('abort', b);
    scope.removeEventListener('abort', b);
    scope.abort('why');
    scope.abort('again');
    scope.addEventListener('abort', () => calls.push('late'));
    expect(calls).toEqual(['a']);
    expect(scope.aborted).toBe(true);
    expect(scope.reason).toBe('why');
    expect(() => scope.throwIfAborted()).toThrow('why');
  });

  it('cancels every call that shares it, as an AbortSignal would', async () => {
    const net = await star(3);
    net.leaves.forEach((leaf) => leaf.handle('hang', () => new Promise(() => undefined)));
    const scope = new CancelScope();
    const calls = net.leaves.map((leaf) => net.hub.call(leaf.id, 'hang', [], { signal: scope.signal }));
    scope.abort(new Error('stop'));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => o.status === 'rejected' && (o.reason as { code: string }).code)).toEqual([
      'ABORTED',
      'ABORTED',
      'ABORTED',
    ]);
    net.close();
  });
});
