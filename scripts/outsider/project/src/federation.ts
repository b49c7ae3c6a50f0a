// Memory mode: the trainer and four learners in this process. Prints one JSON line with the outcome.
import { Federation, Node, joinInMemory, type Learner, type TrainResult } from '@oiafed/core';
import { EqualWeights } from './equal-weights.js';
import { LinearLearner } from './linear-learner.js';

// The installed types are real, not `any`: each of these is an error the compiler must report.
// @ts-expect-error numExamples is a number
const wrongResult: TrainResult = { weights: {}, numExamples: 'many' };
// @ts-expect-error a learner needs evaluate, getWeights and setWeights too
const halfALearner: Learner = { train: () => wrongResult };
void halfALearner;

const trainer = new Node({ id: 'trainer', role: 'trainer' });
for (let shard = 0; shard < 4; shard++) {
  const learner = new Node({ id: `learner-${shard}`, role: 'learner' });
  learner.serve(new LinearLearner(shard));
  await joinInMemory(trainer, learner);
}

const federation = new Federation({
  node: trainer,
  strategy: new EqualWeights(),
  rounds: 3,
  minClients: 4,
  config: { lr: 0.1, epochs: 10 },
});
const { weights, history } = await federation.start();
console.log(
  JSON.stringify({
    rounds: history.map((r) => ({ round: r.round, results: r.results })),
    losses: history.map((r) => r.trainMetrics.loss),
    weights: { w: weights.w?.data[0], b: weights.b?.data[0] },
  }),
);
trainer.close();
