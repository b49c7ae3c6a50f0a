import { afterEach, describe, expect, it } from 'vitest';
import { memoryLinkPair } from '../../links/memory-link.js';
import type { Link } from '../../links/link.js';
import { Node } from '../../rpc/node.js';
import { withTimeout } from '../../wire/signals.js';
import { Federation } from '../federation.js';
import type { Learner, TrainParams, TrainResult } from '../learner.js';
import { FederationMember } from '../member.js';
import { tensor, type Weights } from '../weights.js';
import type { CodecOptions } from './codec-options.js';
import type { ErrorFeedback } from './error-feedback.js';
import { CODEC_CONFIG_KEY, FEEDBACK, withLearnerCodecs } from './learner-codecs.js';

/** Trains by adding the same step to whatever model it is sent: its deltas are known in advance. */
class SteppingLearner implements Learner {
  train({ weights }: TrainParams): TrainResult {
    const w = weights.w!.data;
    return { weights: { w: tensor([w[0]! + 1, w[1]! + 0.6]) }, numExamples: 1 };
  }
  evaluate() {
    return { numExamples: 1, metrics: {} };
  }
  getWeights(): Weights {
    return { w: tensor([0, 0]) };
  }
  setWeights() {
    // The step is all it knows.
  }
}

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

async function setUp(codecs: CodecOptions = { up: 'topk', fraction: 0.5 }) {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  const links: Link[] = [];
  const member = await FederationMember.join({
    id: 'stepper',
    learner: new SteppingLearner(),
    heartbeat: false,
    retry: { initialDelay: 0, maxDelay: 0, jitter: 0 },
    connect: async () => {
      const [trainerSide, learnerSide] = memoryLinkPair({ strict: true });
      trainer.accept(trainerSide);
      links.push(learnerSide);
      return learnerSide;
    },
  });
  cleanup.push(
    () => member.close(),
    () => trainer.close(),
  );
  const federation = new Federation({
    node: trainer,
    rounds: 3,
    initialWeights: { w: tensor([0, 0]) },
    codecs,
  });
  const models: number[][] = [];
  federation.events.on('ROUND_FINISHED', () => models.push(Array.from(federation.weights!.w!.data)));
  return { trainer, member, links, federation, models };
}

/*
 * Each round the learner's delta is [1, 0.6] and top-k keeps 1 of its 2 values. With error feedback:
 * round 1 sends [1, 0] (keeps 0.6); round 2 has [1, 1.2], sends [0, 1.2] (keeps 1); round 3 has
 * [2, 0.6], sends [2, 0]. Without it the second value would never travel: [1, 0], [2, 0], [3, 0].
 */
const WITH_FEEDBACK = [
  [1, 0],
  [1, 1.2],
  [3, 1.2],
].map((m) => m.map(Math.fround));

describe('top-k error feedback', () => {
  it('carries what top-k left out of one round into the next', async () => {
    const { federation, models } = await setUp();
    await federation.start();
    expect(models).toEqual(WITH_FEEDBACK);
  });

  it('keeps the residual across a reconnect of the learner', async () => {
    const { trainer, member, links, federation, models } = await setUp();
    const reconnected = new Promise<void>((resolve) => {
      federation.events.on('ROUND_FINISHED', ({ round }) => {
        if (round !== 1) return;
        federation.pause();
        trainer.events.once('CLIENT_REGISTERED', () => {
          federation.resume();
          resolve();
        });
        links[0]!.close();
      });
    });
    const done = federation.start();
    await withTimeout(reconnected, 5_000, 'the learner did not reconnect');
    await done;
    expect(links).toHaveLength(2);
    expect(member.node.closed).toBe(false);
    expect(models).toEqual(WITH_FEEDBACK);
  });

  it('sends the whole delta while the warm-up allows every value, then carries what top-k leaves', async () => {
    // Round 1 at fraction 1 sends [1, 0.6] whole (no residual); round 2 at 0.5 has [1, 0.6], sends
    // [1, 0] and keeps 0.6; round 3 has [1, 1.2], sends [0, 1.2].
    const { federation, models } = await setUp({
      up: 'topk',
      fraction: 0.5,
      warmupRounds: 1,
      warmupFraction: 1,
    });
    await federation.start();
    const want = [
      [1, 0.6],
      [2, 0.6],
      [2, 1.8],
    ];
    expect(models).toHaveLength(3);
    // Within float32 rounding: 1.8 is 0.6 + (0.6 + 0.6) summed in float32 steps.
    models.forEach((m, r) => m.forEach((x, i) => expect(x).toBeCloseTo(want[r]![i]!, 6)));
  });
});

describe('top-k error feedback against a trainer that keeps changing the model', () => {
  it('holds the residual of the last model sent only: 100 rounds of tensors of new names and sizes', async () => {
    class PlusOne implements Learner {
      train({ weights }: TrainParams): TrainResult {
        const out: Weights = {};
        for (const [name, t] of Object.entries(weights)) out[name] = tensor(t.data.map((x) => x + 1));
        return { weights: out, numExamples: 1 };
      }
      evaluate() {
        return { numExamples: 1, metrics: {} };
      }
      getWeights(): Weights {
        return {};
      }
      setWeights(): void {
        // Each round brings its whole model in the request: nothing to keep.
      }
    }
    const served = withLearnerCodecs(new PlusOne()) as {
      train: (params: TrainParams) => Promise<unknown>;
      [FEEDBACK]: ErrorFeedback;
    };
    const size = (r: number) => 1 + (r % 7) * 100;
    for (let r = 0; r < 100; r++) {
      await served.train({
        round: r + 1,
        weights: { [`t${r}`]: tensor(new Float32Array(size(r))) },
        config: { [CODEC_CONFIG_KEY]: { up: 'topk', blockSize: 256, fraction: 0.01 } },
      });
    }
    for (let r = 0; r < 99; r++) expect(served[FEEDBACK].residual(`t${r}`)).toBeUndefined();
    expect(served[FEEDBACK].residual('t99')).toHaveLength(size(99));
  });
});
