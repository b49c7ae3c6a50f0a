import { spawn, type ChildProcess } from 'node:child_process';
import { type BenchResult } from './harness.js';
import { pairedRatios, spreadOf } from './spread.js';
import { startSwarms } from './scale-clients.js';

export interface HierOptions {
  count: number;
  aggregators: number;
  /** Learner processes, in both shapes. */
  swarms: number;
  interval: number;
  rounds: number;
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
  const flat = await hierRun({ ...options, shape: 'flat' });
  const hier = await hierRun({ ...options, shape: 'hier' });
  if (flat.numExamples.join() !== hier.numExamples.join())
    throw new Error(
      `examples per round differ: flat ${flat.numExamples.join()} hier ${hier.numExamples.join()}`,
    );
  const flatRounds = spreadOf(flat.roundMs);
  const hierRounds = spreadOf(hier.roundMs);
  // Round r of one against round r of the other: their times' ratio, hier over flat.
  const roundRatios = spreadOf(pairedRatios(hier.roundMs, flat.roundMs));
  const grown = (o: RootOutcome) => o.heapJoined - o.heapBefore;
  const perLearner = grown(flat) / count;
  const perAggregator = grown(hier) / aggregators;
  const ms = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ');
  const id = `hier.${count}`;
  const results: BenchResult[] = [
    {
      id: `${id}.flat.round`,
      median: flatRounds.median,
      unit: 'ms per FedAvg round',
      samples: flat.roundMs.length,
      note: `flat: ${count} learners on the root; rounds ${ms(flat.roundMs)} ms (min–max ${flatRounds.min.toFixed(0)}–${flatRounds.max.toFixed(0)}); all joined in ${(flat.joinMs / 1000).toFixed(0)} s; ${flat.missed} heartbeats missed`,
    },
    {
      id: `${id}.round`,
      median: hierRounds.median,
      unit: 'ms per FedAvg round',
      ratio: roundRatios.median,
      ratioRange: [roundRatios.min, roundRatios.max],
      vs: `${id}.flat.round`,
      samples: hier.roundMs.length,
      note: `${aggregators} aggregator processes, ${count / aggregators} learners each; rounds ${ms(hier.roundMs)} ms (min–max ${hierRounds.min.toFixed(0)}–${hierRounds.max.toFixed(0)}); ratio = median of round r hier / round r flat; all joined in ${(hier.joinMs / 1000).toFixed(0)} s; same examples per round as flat (${hier.numExamples[0]}); ${hier.missed} heartbeats missed at the root`,
    },
    {
      id: `${id}.flat.root_memory`,
      median: kib(grown(flat)),
      unit: 'KiB root heap + external, all joined',
      note: `${kib(perLearner).toFixed(2)} KiB per learner; root peak heap in the rounds ${mib(flat.peakHeap).toFixed(1)} MiB, peak RSS ${mib(flat.maxRss).toFixed(0)} MiB`,
    },
    {
      id: `${id}.root_memory`,
      median: kib(grown(hier)),
      unit: 'KiB root heap + external, all joined',
      ratio: grown(hier) / grown(flat),
      vs: `${id}.flat.root_memory`,
      target: 'O(aggregators), not O(learners)',
      note: `${kib(perAggregator).toFixed(2)} KiB per aggregator (flat: ${kib(perLearner).toFixed(2)} per learner); root peak heap in the rounds ${mib(hier.peakHeap).toFixed(1)} MiB, peak RSS ${mib(hier.maxRss).toFixed(0)} MiB`,
    },
    {
      id: `${id}.root_peak_rss`,
      median: mib(hier.maxRss),
      unit: 'MiB peak RSS of the root process',
      ratio: hier.maxRss / flat.maxRss,
      vs: `flat root: ${mib(flat.maxRss).toFixed(0)} MiB`,
      note: `the kernel's high-water mark over each root process's life (VmHWM, since its exec); peak V8 heap in the rounds ${mib(hier.peakHeap).toFixed(1)} MiB hier, ${mib(flat.peakHeap).toFixed(1)} MiB flat`,
    },
  ];
  const notes = [
    `${id}: the root (flat: the trainer) is a process of its own with nothing else in it, so its memory is its own; flat then hierarchical, each with ${count} learners in ${options.swarms} learner processes (heartbeat ${options.interval} ms); the hierarchy is ${aggregators} aggregator processes (serveAggregator via joinParent) under the root, learner i joining aggregator i mod ${aggregators}, none joining the root. Root memory: heap used + external after two forced collections with all joined, minus the same before any joined. The two shapes cannot share the machine at ${count} learners, so they ran one after the other, not interleaved: their round times met different load.`,
  ];
  return { results, notes };
}
