import { describe, expectTypeOf, it } from 'vitest';
import type { Node } from './node.js';
import type { Settled } from './proxy-collection.js';

interface Learner {
  train(params: {
    lr: number;
    weights: Float32Array;
  }): Promise<{ weights: Float32Array; numExamples: number }>;
  evaluate(): { accuracy: number };
  rename(name: string, force?: boolean): void;
  readonly examples: number;
}

declare const node: Node;

describe('typed proxies', () => {
  it('infer argument and result types of remote methods, always as promises', () => {
    const learner = node.proxy<Learner>('l1');
    expectTypeOf(learner.train).parameters.toEqualTypeOf<[{ lr: number; weights: Float32Array }]>();
    expectTypeOf(learner.train).returns.toEqualTypeOf<
      Promise<{ weights: Float32Array; numExamples: number }>
    >();
    expectTypeOf(learner.evaluate).returns.toEqualTypeOf<Promise<{ accuracy: number }>>();
    expectTypeOf(learner.rename).parameters.toEqualTypeOf<[name: string, force?: boolean]>();
    expectTypeOf(learner.$id).toEqualTypeOf<string>();
  });

  it('reject wrong arguments, unknown methods and non-method members at compile time', () => {
    const learner = node.proxy<Learner>('l1');
    // @ts-expect-error lr must be a number
    void learner.train({ lr: '0.1', weights: new Float32Array() });
    // @ts-expect-error no such method
    void learner.fit();
    // @ts-expect-error a data member is not callable remotely
    void learner.examples;
    // @ts-expect-error $call only takes the names of methods
    void learner.$call('fit');
  });

  it('type $call by method name', () => {
    const learner = node.proxy<Learner>('l1');
    expectTypeOf(learner.$call<'evaluate'>).returns.toEqualTypeOf<Promise<{ accuracy: number }>>();
    expectTypeOf(learner.$with({ timeout: 5 }).evaluate).returns.toEqualTypeOf<
      Promise<{ accuracy: number }>
    >();
  });

  it('type events, so emitting an undeclared event or the wrong payload does not compile', () => {
    const learner = node.proxy<Learner, { modelPushed: { round: number } }>('l1');
    learner.$emit('modelPushed', { round: 1 });
    // @ts-expect-error unknown event name
    learner.$emit('shutdown', {});
    // @ts-expect-error wrong payload
    learner.$emit('modelPushed', { round: 'one' });
  });

  it('type collections: broadcast arguments and settled results', () => {
    const all = node.proxies<Learner>(['a', 'b']);
    expectTypeOf(all.broadcast('evaluate', [])).toEqualTypeOf<Promise<Settled<{ accuracy: number }>[]>>();
    // @ts-expect-error arguments must match the method
    void all.broadcast('rename', [1]);
  });
});
