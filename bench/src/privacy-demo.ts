import { DEFAULT_DEMO, runDemo, type DemoOptions } from '../../demo/src/simulate.js';
import { median, writeSuite, type BenchResult } from './harness.js';

/**
 * The issue's second figure: the MNIST demo (memory mode, FedAvg, 10 learners, IID, E=1 B=10
 * lr=0.05; 3,000 training and 1,000 test digits, so that three seeds of four runs fit in half an hour
 * on a loaded machine) for 10 rounds, plaintext against
 * `--secure`, against DP-FedAvg (`--dp-noise Z --dp-clip C`), and against distributed DP under
 * secure aggregation (`--secure --dp-noise Z --dp-clip C --dp-mode distributed`): test accuracy at
 * round 10, each against plaintext's run with the same seed, and the epsilon reported.
 */
interface Variant {
  id: string;
  /** The demo's command line that makes the same run. */
  flags: string;
  options: (base: DemoOptions) => DemoOptions;
}

/** Secure aggregation as the demo's `--secure` sets it. */
const secureOf = (base: DemoOptions): DemoOptions['secure'] => ({
  clipRange: 1,
  maxExamples: base.trainSize,
});

const VARIANTS: readonly Variant[] = [
  { id: 'plain', flags: '', options: (b) => b },
  { id: 'secure', flags: '--secure', options: (b) => ({ ...b, secure: secureOf(b) }) },
  {
    id: 'dp-z0.5',
    flags: '--dp-noise 0.5 --dp-clip 1',
    options: (b) => ({ ...b, privacy: { noiseMultiplier: 0.5, clip: 1 } }),
  },
  {
    id: 'secure-dp-distributed-z0.5',
    flags: '--secure --dp-noise 0.5 --dp-clip 1 --dp-mode distributed',
    options: (b) => ({
      ...b,
      secure: secureOf(b),
      privacy: { noiseMultiplier: 0.5, clip: 1, mode: 'distributed' },
    }),
  },
];

interface Run {
  accuracy: number;
  /** Epsilon after the last round at its delta, if the run had DP. */
  epsilon: number | undefined;
  delta: number | undefined;
  rounds: number;
  /** start() to the last round's end, ms. */
  ms: number;
}

async function runOnce(options: DemoOptions): Promise<Run> {
  const result = await runDemo(options);
  const last = result.history[result.history.length - 1];
  if (result.reason !== 'completed' || !last)
    throw new Error(`demo run ended ${result.reason} after ${result.rounds} rounds`);
  return {
    accuracy: result.finalAccuracy,
    epsilon: last.privacy?.epsilon,
    delta: last.privacy?.delta,
    rounds: last.round,
    ms: result.elapsedMs,
  };
}

const range = (values: readonly number[]): [number, number] => [Math.min(...values), Math.max(...values)];
const f4 = (n: number) => n.toFixed(4);

/** The rows of the runs so far: every variant's accuracy against plaintext's of the same seeds, and its epsilon. */
function rowsOf(runs: Record<string, Run[]>, seeds: readonly number[], flags: string): BenchResult[] {
  const plain = runs.plain!;
  const results: BenchResult[] = [];
  for (const variant of VARIANTS) {
    const own = runs[variant.id]!;
    const accuracies = own.map((r) => r.accuracy);
    const diffs = own.map((r, i) => r.accuracy - plain[i]!.accuracy);
    const ratios = own.map((r, i) => r.accuracy / plain[i]!.accuracy);
    const timeRatios = own.map((r, i) => r.ms / plain[i]!.ms);
    const [lo, hi] = range(accuracies);
    const against = variant.id === 'plain';
    results.push({
      id: `demo.accuracy.${variant.id}`,
      median: median(accuracies),
      unit: 'test accuracy at round 10',
      ...(against ? {} : { ratio: median(ratios), ratioRange: range(ratios), vs: 'demo.accuracy.plain' }),
      samples: own.length,
      note:
        `npm run demo -- ${flags}${variant.flags ? ` ${variant.flags}` : ''}: ` +
        `accuracy ${f4(lo)} to ${f4(hi)} (seeds ${seeds.join(', ')}: ${accuracies.map(f4).join(', ')})` +
        (against
          ? ''
          : `; minus plaintext's of the same seed: median ${median(diffs).toFixed(4)} (${diffs.map((d) => d.toFixed(4)).join(', ')})`) +
        `; wall time ${median(own.map((r) => r.ms / 1000)).toFixed(1)} s` +
        (against
          ? ''
          : ` (${median(timeRatios).toFixed(2)}x plaintext's, ${range(timeRatios)
              .map((r) => r.toFixed(2))
              .join(' to ')})`),
    });
    const epsilons = own.flatMap((r) => (r.epsilon === undefined ? [] : [r.epsilon]));
    if (epsilons.length)
      results.push({
        id: `demo.epsilon.${variant.id}`,
        median: median(epsilons),
        unit: `epsilon at delta ${own[0]!.delta!.toExponential()} after round 10`,
        samples: epsilons.length,
        note: `range ${range(epsilons)
          .map((e) => e.toFixed(4))
          .join(' to ')}; sampling rate 1 (no amplification claimed)`,
      });
  }
  return results;
}

/**
 * Suite `privacy-demo` (also run by suite `privacy`): every variant once per seed, interleaved
 * (plain, secure, dp..., plain, secure, dp...), so that each seed's runs share its data split,
 * starting model and learners' order, and the machine's noise falls on all of them alike. Each
 * variant's accuracy is paired with plaintext's of the same seed. The results are written after
 * every seed: a run cut short keeps the seeds it finished.
 */
export async function privacyDemoSuite(quick: boolean): Promise<void> {
  const started = Date.now();
  const base: DemoOptions = quick
    ? { ...DEFAULT_DEMO, rounds: 10, trainSize: 1_000, testSize: 500 }
    : { ...DEFAULT_DEMO, rounds: 10, trainSize: 3_000, testSize: 1_000 };
  const flags = `--rounds ${base.rounds} --train-size ${base.trainSize} --test-size ${base.testSize}`;
  const seeds = quick ? [1] : [1, 2, 3];
  const runs: Record<string, Run[]> = Object.fromEntries(VARIANTS.map((v) => [v.id, []]));
  const done: number[] = [];
  for (const seed of seeds) {
    for (const variant of VARIANTS) {
      const run = await runOnce(variant.options({ ...base, seed }));
      runs[variant.id]!.push(run);
      console.log(
        `privacy demo seed ${seed} ${variant.id}: test accuracy ${f4(run.accuracy)}` +
          (run.epsilon === undefined ? '' : `, epsilon ${run.epsilon.toFixed(2)}`) +
          `, ${(run.ms / 1000).toFixed(1)} s`,
      );
    }
    done.push(seed);
    writeSuite('privacy-demo', rowsOf(runs, done, flags), [
      `The MNIST demo, memory mode: FedAvg, ${base.clients} learners, IID, ${base.trainSize} training and ${base.testSize} test digits, E=${base.epochs} B=${base.batchSize} lr=${base.lr}, ${base.rounds} rounds; ` +
        `seeds ${done.join(', ')} of ${seeds.join(', ')} (each seed its own data split, starting model and learners' order), every variant once per seed, interleaved.`,
      "The ratio is the variant's accuracy over plaintext's with the same seed (median, min–max over the seeds). Secure aggregation as --secure sets it (clipRange 1, 32 bits, maxExamples the training set).",
      `DP noise is drawn from the CSPRNG, so DP runs differ from run to run; epsilon is the accountant's (Opacus's RDP) after 10 rounds at sampling rate 1. The runs took ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    ]);
  }
}
