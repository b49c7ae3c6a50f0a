// Starts N tiny learners in this process, each joining the trainer at argv[2] over its own
// WebSocket with heartbeats on; prints "ready" once all are registered, then waits to be killed.
// argv: url count interval [first id] [joins at once]. A swarm of thousands of learners is several
// such processes, each with its own range of ids. argv[2] may be a comma-separated list of
// aggregators' URLs: learner i joins the (i mod n)th, the others after it as where it re-homes.
import { joinFederation } from '@oiafed/node';

const [urls, count, interval] = [
  process.argv[2].split(','),
  Number(process.argv[3]),
  Number(process.argv[4]),
];
const homesOf = (i) => (urls.length === 1 ? urls[0] : urls.map((_, k) => urls[(i + k) % urls.length]));
const first = Number(process.argv[5] ?? 0);
const atOnce = Number(process.argv[6] ?? 50);
const learner = (i) => ({
  train: ({ weights }) => ({
    weights: { w: { shape: weights.w.shape, data: weights.w.data.map((x) => x + (i % 7) * 0.001) } },
    numExamples: 1 + (i % 5),
  }),
  evaluate: () => ({ numExamples: 1, metrics: {} }),
  getWeights: () => ({}),
  setWeights: () => undefined,
});
for (let i = first; i < first + count; i += atOnce) {
  await Promise.all(
    Array.from({ length: Math.min(atOnce, first + count - i) }, (_, k) =>
      joinFederation({
        url: homesOf(i + k),
        id: `learner-${i + k}`,
        learner: learner(i + k),
        heartbeat: { interval, timeout: interval * 3 },
        // Thousands join at once on a busy machine: a join may wait its turn longer than the default 30 s.
        joinTimeout: 300_000,
      }),
    ),
  );
  if (process.env.OIAFED_SWARM_PROGRESS && (i - first) % 500 === 0)
    console.error(`${first}: ${i - first} joined`);
}
// Killed by the benchmark: exit as a normal end (a --cpu-prof profile is written then).
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
