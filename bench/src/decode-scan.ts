import { Codec, decodedSize, type Envelope } from '@oiafed/core/internal';
import { interleaved, writeSuite, type BenchResult } from './harness.js';

/**
 * What estimating a frame's decoded size (decoded-size.ts) adds to decoding it: the codec walks
 * every frame over 64 KiB before msgpackr reads it. Baseline: the same codec with the walk off
 * (a limit no frame reaches, so it never walks).
 */
const frames: Record<string, Envelope> = {
  'weights 16 MiB': {
    kind: 'result',
    id: 1,
    src: 'l',
    dst: 't',
    value: { weights: { w: new Float32Array(4 * 1024 * 1024) }, numExamples: 800, metrics: { loss: 0.3 } },
  },
  'metrics records 1 MiB': {
    kind: 'event',
    id: 0,
    src: 'l',
    dst: 't',
    name: 'metrics',
    payload: Array.from({ length: 40_000 }, (_, i) => ({ round: i, loss: i / 7, accuracy: 0.5 })),
  },
  'weights 80 KiB': {
    kind: 'result',
    id: 1,
    src: 'l',
    dst: 't',
    value: { weights: { w: new Float32Array(20_000) }, numExamples: 8, metrics: {} },
  },
};

export async function decodeScanSuite(quick: boolean): Promise<void> {
  const walked = new Codec();
  const unwalked = new Codec({ maxDecodedBytes: Number.POSITIVE_INFINITY });
  const results: BenchResult[] = [];
  for (const [name, frame] of Object.entries(frames)) {
    const bytes = walked.encode(frame).slice();
    const batch = bytes.byteLength > 8 * 1024 * 1024 ? 2 : bytes.byteLength > 512 * 1024 ? 10 : 500;
    const timed = await interleaved(
      {
        decode: () => unwalked.decode(bytes),
        'decode with walk': () => walked.decode(bytes),
        walk: () => decodedSize(bytes, Number.POSITIVE_INFINITY),
      },
      { batch, samples: quick ? 9 : 31 },
    );
    const base = timed.decode!;
    for (const id of ['decode with walk', 'walk'] as const) {
      const t = timed[id]!;
      const ratios = t.times.map((ns, i) => ns / base.times[i]!);
      results.push({
        id: `${name}: ${id}`,
        median: t.median / 1000,
        unit: 'us',
        ratio: t.median / base.median,
        vs: `${name}: decode (${(base.median / 1000).toFixed(1)} us)`,
        ratioRange: [Math.min(...ratios), Math.max(...ratios)],
        samples: t.samples,
      });
    }
  }
  writeSuite('decode-scan', results, [
    'The codec walks frames over 64 KiB; smaller ones decode as before (none can pass the 16 MiB limit).',
  ]);
}
