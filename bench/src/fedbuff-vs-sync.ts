import { availableParallelism } from 'node:os';
import { DEFAULT_DEMO, runDemo, type DemoOptions } from '../../demo/src/simulate.js';
import { SLOWDOWN } from '../../demo/src/demo-learner.js';
import { demoSchedule } from '../../demo/src/demo-federation.js';
import { median, writeSuite, type BenchResult } from './harness.js';

const TARGET = 0.85;

/**
 * The MNIST demo as `npm run demo -- --slow 0.3 --target 0.85 --train-size 3000 --test-size 1000`
 * (memory mode, 10 learners, 3 of them 10x slower), with and without `--async`. Synchronous FedAvg
 * reaches the target in 4 rounds; the round caps only bound a run that never gets there.
 */
const RUN: DemoOptions = {
  ...DEFAULT_DEMO,
  clients: 10,
  slow: 0.3,
  trainSize: 3_000,
  testSize: 1_000,
  target: TARGET,
};
/**
 * Memory mode: every learner's compute on this one thread. Worker mode: learners in worker_threads, as on
 * devices of their own.
 */
type Mode = 'memory' | 'worker';
const sync = (mode: Mode): DemoOptions => ({ ...RUN, mode, rounds: 15 });
const fedbuffRun = (mode: Mode): DemoOptions => ({ ...RUN, mode, async: true, rounds: 40 });

interface Sample {
  /** From start() to the ROUND_FINISHED whose central evaluation first reached the target, ms; Infinity if none did. */
  ms: number;
  /** The round (FedBuff: model version) that reached it, or the last one run. */
  round: number;
  reached: boolean;
}

/**
 * Time to the target test accuracy, from the federation's start() to the ROUND_FINISHED whose
 * evaluation of the global model first reaches it (the run stops there, as `--target` does).
 */
async function timeToTarget(options: DemoOptions): Promise<Sample> {
  let sample: Sample = { ms: Infinity, round: 0, reached: false };
  await runDemo(options, {
    onRound: (summary, elapsedMs) => {
      if (sample.reached) return;
      sample =
        (summary.evalMetrics.accuracy ?? 0) >= TARGET
          ? { ms: elapsedMs, round: summary.round, reached: true }
          : { ...sample, round: summary.round };
    },
  });
  return sample;
}

/**
 * `fedbuff.vs.sync`: wall time to 0.85 test accuracy on the MNIST demo with 30% of the learners
 * 10x slower, FedBuff (the demo's `--async` defaults: 10 training at once, versions of 5) against
 * synchronous FedAvg, samples interleaved (sync, fedbuff, sync, fedbuff...) after one warm-up run.
 */
export async function fedbuffVsSync(quick: boolean, mode: Mode): Promise<BenchResult[]> {
  const SYNC = sync(mode);
  const FEDBUFF = fedbuffRun(mode);
  const suffix = mode === 'memory' ? '' : `.${mode}`;
  // The first run pays tfjs's wasm start and V8's warm-up: neither contender should.
  await runDemo({ ...RUN, mode, slow: 0, rounds: 1, target: undefined });
  const pairs = quick ? 1 : 4;
  const syncRuns: Sample[] = [];
  const fedbuff: Sample[] = [];
  for (let i = 0; i < pairs; i++) {
    syncRuns.push(await timeToTarget(SYNC));
    fedbuff.push(await timeToTarget(FEDBUFF));
    const last = (s: Sample[]) => describe(s[s.length - 1]!);
    console.log(
      `fedbuff.vs.sync${suffix} pair ${i + 1}/${pairs}: sync ${last(syncRuns)}, fedbuff ${last(fedbuff)}`,
    );
  }
  const seconds = (s: Sample[]) => s.map((x) => x.ms / 1000);
  const spread = (values: number[]) =>
    `${Math.min(...values).toFixed(1)} to ${Math.max(...values).toFixed(1)}`;
  const syncS = median(seconds(syncRuns));
  const fedbuffS = median(seconds(fedbuff));
  const ratio = fedbuffS / syncS;
  const pairRatios = fedbuff.map((f, i) => f.ms / syncRuns[i]!.ms);
  const missed = (s: Sample[]) => s.filter((x) => !x.reached).length;
  const { concurrency, buffer } = demoSchedule(FEDBUFF);
  return [
    {
      id: `sync.time_to_target${suffix}`,
      median: syncS,
      unit: 's',
      samples: syncRuns.length,
      note:
        `${mode} mode, synchronous FedAvg, 10 learners (3 ${SLOWDOWN}x slower), to test accuracy ${TARGET}: spread ${spread(seconds(syncRuns))} s; ${syncRuns.map(describe).join('; ')}` +
        (missed(syncRuns)
          ? `; ${missed(syncRuns)} of ${syncRuns.length} never reached it (counted as Infinity)`
          : ''),
    },
    {
      id: `fedbuff.vs.sync${suffix}`,
      median: fedbuffS,
      unit: 's',
      ratio,
      vs: `sync.time_to_target${suffix}`,
      target: 'time ratio <= 0.5',
      met: ratio <= 0.5,
      samples: fedbuff.length,
      note:
        `${mode} mode, FedBuff (concurrency ${concurrency}, buffer ${buffer}) to test accuracy ${TARGET}: spread ${spread(seconds(fedbuff))} s; ${fedbuff.map(describe).join('; ')}; ` +
        `ratio per interleaved pair ${pairRatios.map((r) => r.toFixed(2)).join(', ')}` +
        (missed(fedbuff)
          ? `; ${missed(fedbuff)} of ${fedbuff.length} never reached it within ${FEDBUFF.rounds} versions (counted as Infinity)`
          : ''),
    },
  ];
}

function describe(s: Sample): string {
  return s.reached ? `${(s.ms / 1000).toFixed(1)} s (round ${s.round})` : `not reached in ${s.round} rounds`;
}

export async function fedbuffSuite(quick: boolean): Promise<void> {
  const started = Date.now();
  const results = [...(await fedbuffVsSync(quick, 'worker')), ...(await fedbuffVsSync(quick, 'memory'))];
  writeSuite('fedbuff', results, [
    `MNIST demo (tfjs wasm), ${RUN.clients} learners, IID, ${RUN.trainSize} training digits (${RUN.trainSize / RUN.clients} each), ` +
      `E=${RUN.epochs} B=${RUN.batchSize} lr=${RUN.lr}, the global model evaluated on ${RUN.testSize} test digits after every round or version (the time counts it).`,
    `--slow ${RUN.slow}: ${Math.round(RUN.slow * RUN.clients)} learners, chosen from the seed, take ${SLOWDOWN}x their own measured compute time (the extra waited out, as a slow device's own processor would spend it).`,
    `Worker mode (the issue's figure): learners in worker_threads (a pool of one per core, ${availableParallelism()} here), as on devices of their own. ` +
      `Memory mode: every learner on the trainer's one thread, so a round's compute is serial (a slow learner's wait is not) and FedBuff's gain is bounded by that, not by its schedule.`,
    `Interleaved pairs after a warm-up run per mode; the whole suite took ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  ]);
}
