import { spawn, type ChildProcess } from 'node:child_process';
import { type BenchResult } from './harness.js';
import { pairedRatios, spreadOf, type Spread } from './spread.js';
import { startSwarms } from './scale-clients.js';

export interface HierOptions {
  count: number;
  aggregators: number;
  /** Learner processes, in both shapes. */
  swarms: number;
  interval: number;
  rounds: number;
  /** Flat and hierarchical runs alternate this many times (flat, hier, flat, hier...). */
  pairs: number;
}

/** What the root process (or the flat trainer) measured of its run. */
export interface RootOutcome {
  members: number;
  roundMs: number[];
  numExamples: number[];
  /** Heap used + external after two forced collections, bytes: before anyone joined, and with all joined. */
  heapBefore: number;
  heapJoined: number;
  /** Peak V8 heap used during the rounds (sampled at each result), bytes. */
  peakHeap: number;
  /** Peak RSS over the root process's life (the kernel's high-water mark), bytes. */
  maxRss: number;
  missed: number;
  joinMs: number;
}

const worker = (name: string) => new URL(`./workers/${name}`, import.meta.url).pathname;

/** The first stdout line of `child` that `pattern` matches; rejects if it exits first. */
function lineOf(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      const match = pattern.exec(text);
      if (match) {
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        resolve(match);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited with ${code}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * One run: a root process, `aggregators` aggregator processes under it (none: the flat shape, the
 * learners join the root), `count` learners in `swarms` processes joining the aggregators (learner
 * i the (i mod aggregators)th); once all joined, `rounds` FedAvg rounds at the root.
 */
export async function hierRun(options: HierOptions & { shape: 'flat' | 'hier' }): Promise<RootOutcome> {
  const { count, interval, rounds } = options;
  const aggregators = options.shape === 'flat' ? 0 : options.aggregators;
  const members = aggregators || count;
  const root = spawn(
    process.execPath,
    ['--expose-gc', worker('ws-root.mjs'), String(members), String(rounds), String(interval)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const children: ChildProcess[] = [root];
  try {
    const rootUrl = (await lineOf(root, /serving (\S+)/, 'root'))[1]!;
    const t0 = Date.now();
    let urls = [rootUrl];
    if (aggregators > 0) {
      const started = Array.from({ length: aggregators }, (_, j) => {
        // Learner i is homed at aggregator i mod aggregators: each waits for exactly its own.
        const own = Math.floor(count / aggregators) + (j < count % aggregators ? 1 : 0);
        const child = spawn(
          process.execPath,
          [worker('ws-aggregator.mjs'), rootUrl, `aggregator-${j}`, String(own), String(interval)],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        children.push(child);
        return child;
      });
      // One wait per child for both lines: a line printed while nothing listens is gone.
      urls = await Promise.all(
        started.map(
          async (child, j) => (await lineOf(child, /serving (\S+)\n[\s\S]*joined/, `aggregator-${j}`))[1]!,
        ),
      );
    }
    children.push(...(await startSwarms(urls.join(','), { count, swarms: options.swarms, interval })));
    const joinMs = Date.now() - t0;
    const result = lineOf(root, /result (\{.*\})\n/, 'root');
    root.stdin.write('start\n');
    return { ...(JSON.parse((await result)[1]!) as Omit<RootOutcome, 'joinMs'>), joinMs };
  } finally {
    for (const child of children.reverse()) child.kill();
  }
}

const kib = (bytes: number) => bytes / 1024;
const mib = (bytes: number) => bytes / (1024 * 1024);

/**
 * Issue #16's hier.N: one FedAvg run of `rounds` rounds with `count` learners flat (every learner
 * on the root) and then under `aggregators` aggregator processes; round times with their spread,
 * and what the root held in each.
 */
export async function hierFigures(
  options: HierOptions,
): Promise<{ results: BenchResult[]; notes: string[] }> {
  const { count, aggregators } = options;
  const flatRuns: RootOutcome[] = [];
  const hierRuns: RootOutcome[] = [];
  for (let p = 0; p < options.pairs; p++) {
    flatRuns.push(await hierRun({ ...options, shape: 'flat' }));
    hierRuns.push(await hierRun({ ...options, shape: 'hier' }));
  }
  const all = (runs: RootOutcome[], of: (o: RootOutcome) => number[]) => runs.flatMap(of);
  const examples = all(flatRuns, (o) => o.numExamples).join();
  if (examples !== all(hierRuns, (o) => o.numExamples).join())
    throw new Error(`examples per round differ between flat and hier: ${examples}`);
  const flatMs = all(flatRuns, (o) => o.roundMs);
  const hierMs = all(hierRuns, (o) => o.roundMs);
  const flatRounds = spreadOf(flatMs);
  const hierRounds = spreadOf(hierMs);
  // Round r of a hierarchical run against round r of the flat run just before it: hier / flat.
  const roundRatios = spreadOf(pairedRatios(hierMs, flatMs));
  const grownOf = (runs: RootOutcome[]) => spreadOf(runs.map((o) => o.heapJoined - o.heapBefore));
  const flatGrown = grownOf(flatRuns);
  const hierGrown = grownOf(hierRuns);
  const perLearner = flatGrown.median / count;
  const perAggregator = hierGrown.median / aggregators;
  const rssOf = (runs: RootOutcome[]) => spreadOf(runs.map((o) => o.maxRss));
  const flatRss = rssOf(flatRuns);
  const hierRss = rssOf(hierRuns);
  const peakHeap = (runs: RootOutcome[]) => mib(Math.max(...runs.map((o) => o.peakHeap))).toFixed(1);
  const range = (x: Spread, f: (v: number) => number) => `${f(x.min).toFixed(0)}–${f(x.max).toFixed(0)}`;
  const ms = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ');
  const joined = (runs: RootOutcome[]) => runs.map((o) => (o.joinMs / 1000).toFixed(0)).join(', ');
  const missed = (runs: RootOutcome[]) => runs.reduce((n, o) => n + o.missed, 0);
  const id = `hier.${count}`;
  const results: BenchResult[] = [
    {
      id: `${id}.flat.round`,
      median: flatRounds.median,
      unit: 'ms per FedAvg round',
      samples: flatMs.length,
      note: `flat: ${count} learners on the root; ${options.pairs} runs of ${options.rounds} rounds: ${ms(flatMs)} ms (min–max ${range(flatRounds, (v) => v)}, IQR ${range({ ...flatRounds, min: flatRounds.q1, max: flatRounds.q3 }, (v) => v)}); all joined in ${joined(flatRuns)} s; ${missed(flatRuns)} heartbeats missed`,
    },
    {
      id: `${id}.round`,
      median: hierRounds.median,
      unit: 'ms per FedAvg round',
      ratio: roundRatios.median,
      ratioRange: [roundRatios.min, roundRatios.max],
      vs: `${id}.flat.round`,
      samples: hierMs.length,
      note: `${aggregators} aggregator processes, ${count / aggregators} learners each; rounds ${ms(hierMs)} ms (min–max ${range(hierRounds, (v) => v)}, IQR ${range({ ...hierRounds, min: hierRounds.q1, max: hierRounds.q3 }, (v) => v)}); ratio = median over rounds of hier round r / flat round r of the run just before (IQR ${roundRatios.q1.toFixed(2)}–${roundRatios.q3.toFixed(2)}); all joined in ${joined(hierRuns)} s; same examples per round as flat (${examples.split(',')[0]}); ${missed(hierRuns)} heartbeats missed at the root`,
    },
    {
      id: `${id}.flat.root_memory`,
      median: kib(flatGrown.median),
      unit: 'KiB root heap + external, all joined',
      samples: flatRuns.length,
      note: `${kib(perLearner).toFixed(2)} KiB per learner; over the runs ${range(flatGrown, kib)} KiB; root peak heap in the rounds ${peakHeap(flatRuns)} MiB`,
    },
    {
      id: `${id}.root_memory`,
      median: kib(hierGrown.median),
      unit: 'KiB root heap + external, all joined',
      samples: hierRuns.length,
      ratio: hierGrown.median / flatGrown.median,
      vs: `${id}.flat.root_memory`,
      target: 'O(aggregators), not O(learners)',
      note: `${kib(perAggregator).toFixed(2)} KiB per aggregator (flat: ${kib(perLearner).toFixed(2)} per learner); over the runs ${range(hierGrown, kib)} KiB; root peak heap in the rounds ${peakHeap(hierRuns)} MiB`,
    },
    {
      id: `${id}.root_peak_rss`,
      median: mib(hierRss.median),
      unit: 'MiB peak RSS of the root process',
      samples: hierRuns.length,
      ratio: hierRss.median / flatRss.median,
      vs: `flat root: ${mib(flatRss.median).toFixed(0)} MiB`,
      note: `the kernel's high-water mark over each root process's life (VmHWM, since its exec); over the runs ${range(hierRss, mib)} MiB hier, ${range(flatRss, mib)} MiB flat`,
    },
  ];
  const notes = [
    `${id}: the root (flat: the trainer) is a process of its own with nothing else in it, so its memory is its own; flat and hierarchical runs alternating (${options.pairs} of each), each with ${count} learners in ${options.swarms} learner processes (heartbeat ${options.interval} ms); the hierarchy is ${aggregators} aggregator processes (serveAggregator via joinParent) under the root, learner i joining aggregator i mod ${aggregators}, none joining the root. Root memory: heap used + external after two forced collections with all joined, minus the same before any joined. The two shapes cannot share the machine at ${count} learners: runs alternate, rounds within a run do not.`,
  ];
  return { results, notes };
}
