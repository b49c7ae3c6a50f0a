// Starts N tiny learners in this process, each joining the trainer at argv[2] over its own
// WebSocket with heartbeats on; prints "ready" once all are registered, then waits to be killed.
import { joinFederation } from '@oiafed/node';

const [url, count, interval] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const learner = (i) => ({
  train: ({ weights }) => ({
    weights: { w: { shape: weights.w.shape, data: weights.w.data.map((x) => x + (i % 7) * 0.001) } },
    numExamples: 1 + (i % 5),
  }),
  evaluate: () => ({ numExamples: 1, metrics: {} }),
  getWeights: () => ({}),
  setWeights: () => undefined,
});
for (let i = 0; i < count; i += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, count - i) }, (_, k) =>
      joinFederation({
        url,
        id: `learner-${i + k}`,
        learner: learner(i + k),
        heartbeat: { interval, timeout: interval * 3 },
      }),
    ),
  );
}
console.log('ready');
