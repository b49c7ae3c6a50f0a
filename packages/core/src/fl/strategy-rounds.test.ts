import { afterEach, describe, expect, it } from 'vitest';
import { nextEvent } from '../test-support.js';
import type { NodeId } from '../wire/envelope.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import type { Aggregate, Aggregation, ClientUpdate, StrategyState } from './aggregation.js';
import { MemoryCheckpointStore } from './checkpoint.js';
import type { Cohort } from './cohort.js';
import { Federation } from './federation.js';
import { federationMaker, fixed, ScriptedLearner, type FixedLearner } from './federation.test-support.js';
import type { Learner, TrainParams, TrainResult } from './learner.js';
import { zeroLinearWeights } from './linear-learner.test-support.js';
import { Strategy, type RoundStart } from './strategy.js';
import { WeightedMean } from './weighted-mean.js';
import { tensor, type Weights } from './weights.js';

const { nodes, federate } = federationMaker();
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

/** A learner whose training waits until the test lets it answer (and sees it cancelled). */
class GatedLearner extends ScriptedLearner {
  release: () => void = () => undefined;
  cancelled = false;
  constructor(base: FixedLearner) {
    super(base, {
      train: (p: TrainParams) =>
        new Promise<TrainResult>(
          (resolve) => (this.release = () => resolve({ weights: p.weights, numExamples: 1 })),
        ),
    });
  }
}

describe('selection against the results a round needs', () => {
  it("runs the README's example: 10 learners, fraction 0.5 and minClients 8 select 8, not 5", async () => {
    const learners = Array.from({ length: 10 }, () => fixed([1, 1, 1], 1, 1));
    const { federation } = await federate(learners, {
      rounds: 1,
      minClients: 8,
      selection: { fraction: 0.5 },
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    expect(result.history[0]).toMatchObject({ results: 8 });
    expect(result.history[0]!.clients).toHaveLength(8);
  });

  it('selects at least minResults of a fraction and fails only when fewer answer', async () => {
    const learners = Array.from({ length: 10 }, () => fixed([1, 1, 1], 1, 1));
    const { federation } = await federate(learners, {
      rounds: 1,
      minClients: 10,
      minResults: 3,
      selection: { fraction: 0.1 },
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    expect(result.history[0]!.clients).toHaveLength(3);
  });

  it('refuses minResults above minClients, naming both fields', async () => {
    const { trainer } = await federate([], { rounds: 1 });
    expect(() => new Federation({ node: trainer, rounds: 1, minClients: 2, minResults: 3 })).toThrow(
      /federation\.minResults \(3\) is more than federation\.minClients \(2\)/,
    );
  });
});

describe('over-selection', () => {
  it('asks ceil(target x factor) learners, closes the round at the target count and cancels the rest', async () => {
    const quick = [fixed([2, 2, 2], 2, 1), fixed([4, 4, 4], 4, 1)];
    const slow = new GatedLearner(fixed([0, 0, 0], 0, 1));
    // 3 learners, fraction 0.5 -> target 2 (at least minResults 2), asked ceil(2 x 1.5) = 3.
    const { federation } = await federate([...quick, slow], {
      rounds: 1,
      minClients: 3,
      minResults: 2,
      selection: { fraction: 0.5 },
      overSelection: 1.5,
      initialWeights: zeroLinearWeights(),
    });
    const failed: string[] = [];
    federation.events.on('CLIENT_FAILED', (f) => failed.push(f.client));
    const result = await federation.start();
    expect(result.history[0]).toMatchObject({ results: 2, failures: [] });
    expect(result.history[0]!.clients).toEqual(['learner-0', 'learner-1', 'learner-2']);
    expect(Array.from(result.weights.w!.data)).toEqual([3, 3, 3]);
    // The slow learner's call was cancelled, not counted as its failure.
    expect(failed).toEqual([]);
    expect(federation.status().clients.find((c) => c.id === 'learner-2')).toMatchObject({ failures: 0 });
  });
});

/** A strategy that counts its rounds in its state and keeps every update (a server momentum in miniature). */
class CountingStrategy extends Strategy {
  readonly name = 'counting';
  rounds = 0;
  velocity: Weights | undefined;

  override aggregation(): Aggregation {
    const mean = new WeightedMean();
    return {
      keepsUpdates: false,
      add: (u: ClientUpdate) => mean.add(u.weights, u.numExamples),
      result: () => ({ weights: mean.result(), rejected: [] }),
    };
  }

  override update(start: RoundStart, aggregate: Aggregate): Weights {
    this.rounds += 1;
    // next = aggregate + 0.5 * previous change: depends on state, so a lost state shows.
    const next: Weights = {};
    for (const [name, t] of Object.entries(aggregate.weights)) {
      const before = start.weights[name]!.data;
      const v = this.velocity?.[name]?.data;
      const data = t.data.map((x, i) => x + 0.5 * (v?.[i] ?? 0));
      next[name] = { shape: [...t.shape], data };
      (this.velocity ??= {})[name] = { shape: [...t.shape], data: data.map((x, i) => x - before[i]!) };
    }
    return next;
  }

  override state(): StrategyState {
    return { rounds: this.rounds, velocity: this.velocity ?? null };
  }

  override restore(state: StrategyState): void {
    this.rounds = typeof state.rounds === 'number' ? state.rounds : 0;
    this.velocity = (state.velocity as Weights | null | undefined) ?? undefined;
  }
}

describe('strategy state in checkpoints', () => {
  it('saves state() with every round and restores it: 2 rounds, stop, resume 2 equals 4 straight', async () => {
    const learners = () => [fixed([1, 2, 3], 1, 1), fixed([3, 2, 1], -1, 3)];
    const straight = await federate(learners(), {
      rounds: 4,
      strategy: new CountingStrategy(),
      initialWeights: zeroLinearWeights(),
    });
    const expected = await straight.federation.start();

    const store = new MemoryCheckpointStore();
    const first = await federate(learners(), {
      rounds: 2,
      strategy: new CountingStrategy(),
      store,
      initialWeights: zeroLinearWeights(),
    });
    await first.federation.start();
    expect((await store.load())!.strategy).toMatchObject({ rounds: 2 });
    nodes.splice(0).forEach((n) => n.close());
    const resumedStrategy = new CountingStrategy();
    const second = await federate(learners(), {
      rounds: 4,
      strategy: resumedStrategy,
      store,
      initialWeights: zeroLinearWeights(),
    });
    const resumed = await second.federation.start();
    expect(resumedStrategy.rounds).toBe(4);
    expect(Array.from(resumed.weights.w!.data)).toEqual(Array.from(expected.weights.w!.data));
    expect(Array.from(resumed.weights.b!.data)).toEqual(Array.from(expected.weights.b!.data));
  });
});

describe('aggregations that leave updates out', () => {
  it('reports each rejected learner in the summary and as CLIENT_REJECTED', async () => {
    class DropLargest extends Strategy {
      readonly name = 'drop-largest';
      override aggregation(): Aggregation {
        const kept: ClientUpdate[] = [];
        return {
          keepsUpdates: true,
          add: (u) => void kept.push(u),
          result: () => {
            kept.sort((a, b) => b.weights.w!.data[0]! - a.weights.w!.data[0]!);
            const [largest, ...rest] = kept;
            const mean = new WeightedMean();
            for (const u of rest) mean.add(u.weights, u.numExamples);
            return {
              weights: mean.result(),
              rejected: [{ client: largest!.client, reason: 'largest first coordinate' }],
            };
          },
        };
      }
    }
    const { federation } = await federate(
      [fixed([1, 1, 1], 1, 1), fixed([100, 0, 0], 0, 1), fixed([3, 3, 3], 3, 1)],
      {
        rounds: 1,
        strategy: new DropLargest(),
        initialWeights: zeroLinearWeights(),
      },
    );
    const rejected: { client: NodeId; reason: string }[] = [];
    federation.events.on('CLIENT_REJECTED', ({ client, reason }) => rejected.push({ client, reason }));
    const result = await federation.start();
    expect(rejected).toEqual([{ client: 'learner-1', reason: 'largest first coordinate' }]);
    expect(result.history[0]!.rejected).toEqual(rejected);
    expect(Array.from(result.weights.w!.data)).toEqual([2, 2, 2]);
  });
});

describe('a new model that is not finite', () => {
  it("fails the round (a server optimiser's step that overflowed, say) and keeps the model as it was", async () => {
    class Overflowing extends Strategy {
      readonly name = 'overflowing';
      override update(_start: RoundStart, aggregate: Aggregate): Weights {
        const w = aggregate.weights.w!.data.slice();
        w[1] = Infinity;
        return { ...aggregate.weights, w: tensor(w) };
      }
    }
    const { federation } = await federate([fixed([1, 1, 1], 1, 1)], {
      rounds: 1,
      strategy: new Overflowing(),
      initialWeights: zeroLinearWeights(),
    });
    const failed = nextEvent(federation.events, 'ROUND_FAILED');
    await expect(federation.start()).rejects.toMatchObject({ code: 'ROUND_FAILED' });
    const [report] = await failed;
    expect(report.reason).toMatch(
      /tensor w has a non-finite value \(Infinity\) at index 1\); it stays as it was/,
    );
    expect(Array.from(federation.weights!.w!.data)).toEqual([0, 0, 0]);
  });
});

describe('the starting model', () => {
  it('comes from the learner whose id sorts first once minClients are connected, not the first to arrive', async () => {
    const { trainer, federation } = await federate([], { rounds: 1, minClients: 2 });
    const run = federation.start();
    // learner-9 joins first, learner-1 second: the model must be learner-1's.
    const late = (id: string, value: number) => {
      const node = new Node({ id, role: 'learner', heartbeat: false });
      nodes.push(node);
      node.serve(fixed([value, value, value], value, 1));
      return joinInMemory(trainer, node, { strict: true });
    };
    await late('learner-9', 9);
    await late('learner-1', 1);
    const result = await run;
    // Both trained from learner-1's model and returned their own: the round's mean is (9 + 1) / 2.
    expect(Array.from(result.weights.w!.data)).toEqual([5, 5, 5]);
    expect(federation.history[0]!.clients).toEqual(['learner-1', 'learner-9']);
  });

  it("comes from the strategy's initialWeights when it has them", async () => {
    class Seeded extends Strategy {
      readonly name = 'seeded';
      override initialWeights(): Weights {
        return { w: tensor([7, 7, 7]), b: tensor([7]) };
      }
    }
    const seenWeights: number[] = [];
    const learner = new ScriptedLearner(fixed([1, 1, 1], 1, 1), {
      train: (p: TrainParams) => {
        seenWeights.push(p.weights.w!.data[0]!);
        return { weights: p.weights, numExamples: 1 };
      },
      getWeights: () => {
        throw new Error('the strategy gave the starting model: no learner is asked');
      },
    });
    const { federation } = await federate([learner], { rounds: 1, strategy: new Seeded() });
    await federation.start();
    expect(seenWeights).toEqual([7]);
  });
});

describe('pause before start', () => {
  it('starts paused and runs once resumed', async () => {
    const { federation } = await federate([fixed([1, 1, 1], 1, 1)], {
      rounds: 1,
      initialWeights: zeroLinearWeights(),
    });
    federation.pause();
    const run = federation.start();
    expect(federation.state).toBe('paused');
    const started = new Promise<void>((resolve) => federation.events.once('ROUND_STARTED', () => resolve()));
    federation.resume();
    await started;
    await expect(run).resolves.toMatchObject({ reason: 'completed', rounds: 1 });
  });
});

interface Surveyed extends Learner {
  survey(params: { question: string }): Promise<{ answer: number }>;
}

describe('Cohort', () => {
  it('gathers a custom learner method, typed by the learner interface, checked by its validate', async () => {
    const answers: Record<string, unknown> = { 'learner-0': { answer: 1 }, 'learner-1': { answer: 'two' } };
    class SurveyLearner extends ScriptedLearner {
      survey(): unknown {
        return answers[this.id];
      }
      constructor(readonly id: string) {
        super(fixed([1, 1, 1], 1, 1), {});
      }
    }
    class Surveying extends Strategy {
      readonly name = 'surveying';
      readonly got: [NodeId, number][] = [];
      override async beforeRound(
        _start: RoundStart,
        cohort: Cohort,
        clients: readonly NodeId[],
      ): Promise<void> {
        const typed = cohort as unknown as Cohort<Surveyed>;
        const outcome = await typed.gather(
          'survey',
          clients,
          () => ({ question: 'how many' }),
          (client, result) => void this.got.push([client, result.answer]),
          {
            validate: (result) => {
              const answer = (result as { answer?: unknown } | null)?.answer;
              if (typeof answer !== 'number') throw new Error('answer is not a number');
              return { answer };
            },
          },
        );
        expect(outcome.failures).toEqual([
          {
            client: 'learner-1',
            code: 'INVALID_RESULT',
            message: 'survey result refused: answer is not a number',
          },
        ]);
      }
    }
    const strategy = new Surveying();
    const { federation } = await federate([new SurveyLearner('learner-0'), new SurveyLearner('learner-1')], {
      rounds: 1,
      strategy,
      initialWeights: zeroLinearWeights(),
    });
    await federation.start();
    expect(strategy.got).toEqual([['learner-0', 1]]);
  });

  it('evaluates a sample of its own when federatedEvaluation is a selection', async () => {
    const evaluatedBy: Set<string>[] = [];
    const learners = Array.from(
      { length: 6 },
      (_, i) =>
        new ScriptedLearner(fixed([1, 1, 1], 1, 1), {
          evaluate: (p) => {
            (evaluatedBy[p.round - 1] ??= new Set()).add(`learner-${i}`);
            return { numExamples: 1, metrics: { accuracy: 0.5 } };
          },
        }),
    );
    const { federation } = await federate(learners, {
      rounds: 4,
      minClients: 6,
      minResults: 1,
      selection: { fraction: 1 / 3 },
      federatedEvaluation: { fraction: 1 / 3 },
      initialWeights: zeroLinearWeights(),
    });
    const trainedBy: string[][] = [];
    federation.events.on('ROUND_STARTED', ({ clients }) => trainedBy.push(clients));
    const result = await federation.start();
    expect(result.history.map((r) => r.evalMetrics.federated_accuracy)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(evaluatedBy.map((s) => s.size)).toEqual([2, 2, 2, 2]);
    // Its own draw: in some round the evaluators are not the learners that trained.
    expect(evaluatedBy.some((s, r) => [...s].sort().join() !== trainedBy[r]!.join())).toBe(true);
  });
});
