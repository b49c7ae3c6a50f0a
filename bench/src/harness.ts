import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One line of a suite: a median, and where it has one, its ratio to a baseline of the same run. */
export interface BenchResult {
  id: string;
  median: number;
  unit: string;
  /** median / baseline median (for times: lower is better; for throughputs: higher is). */
  ratio?: number;
  /** The id of the baseline the ratio is against. */
  vs?: string;
  /**
   * Lowest and highest of the per-sample ratios, each sample against the baseline's sample of the
   * same interleaved round: how far the noise moved the ratio.
   */
  ratioRange?: [number, number];
  /** The target the issue names, as text, and whether this run met it. */
  target?: string;
  met?: boolean;
  samples?: number;
  note?: string;
}

export interface Sampled {
  /** Median time per operation over the samples, ns. */
  median: number;
  samples: number;
  /** ns per operation of each sample, in order: sample i of every contender ran in the same round. */
  times: number[];
}

/** One operation; a promise it returns is awaited. */
type Op = () => unknown;

/**
 * Times several operations side by side: each sample runs `batch` operations, and the samples of
 * the contenders are interleaved (a, b, c, a, b, c...) so that the machine's noise falls on all
 * of them alike. Returns the median ns per operation of each.
 */
export async function interleaved(
  ops: Record<string, Op>,
  options: { batch: number; samples: number; warmup?: number },
): Promise<Record<string, Sampled>> {
  const names = Object.keys(ops);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -(options.warmup ?? 2); round < options.samples; round++) {
    for (const name of names) {
      const op = ops[name]!;
      const start = process.hrtime.bigint();
      for (let i = 0; i < options.batch; i++) await op();
      const ns = Number(process.hrtime.bigint() - start) / options.batch;
      if (round >= 0) times[name]!.push(ns);
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, { median: median(times[n]!), samples: times[n]!.length, times: times[n]! }]),
  );
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/** Writes results/<suite>.json and results/<suite>.md, and prints the table. */
export function writeSuite(suite: string, results: BenchResult[], notes: string[] = []): void {
  mkdirSync(resultsDir, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency,
  };
  writeFileSync(
    join(resultsDir, `${suite}.json`),
    JSON.stringify({ suite, ...meta, results, notes }, null, 2) + '\n',
  );
  const fmt = (n: number | undefined) =>
    n === undefined ? '' : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);
  // The range column only in a suite that reports one, so the others' tables stay as they were.
  const ranged = results.some((r) => r.ratioRange);
  const range = (r: BenchResult) =>
    ranged ? ` ${r.ratioRange ? `${fmt(r.ratioRange[0])}–${fmt(r.ratioRange[1])}` : ''} |` : '';
  const lines = [
    `# Benchmark suite \`${suite}\``,
    '',
    `${meta.date}, Node ${meta.node}. Medians; ratios are against a baseline measured in the same run.`,
    '',
    `| id | median | unit | ratio |${ranged ? ' ratio min–max |' : ''} vs | target | met |`,
    `|---|---:|---|---:|${ranged ? '---:|' : ''}---|---|---|`,
    ...results.map(
      (r) =>
        `| ${r.id} | ${fmt(r.median)} | ${r.unit} | ${fmt(r.ratio)} |${range(r)} ${r.vs ?? ''} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : 'NO'} |`,
    ),
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
    '',
  ];
  writeFileSync(join(resultsDir, `${suite}.md`), lines.join('\n'));
  console.log(lines.join('\n'));
}
