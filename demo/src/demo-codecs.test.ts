import { describe, expect, it } from 'vitest';
import { demoConfig } from './demo-federation.js';
import { DEFAULT_DEMO, runDemo } from './simulate.js';

/*
 * The MNIST demo with each codec, bounded: 4 learners, 1,000 digits, 3 rounds. What it shows is
 * that a real tfjs model trains through every codec (the accuracy rises well above chance, 0.1);
 * the accuracy against float32 at round 10 is the benchmark's (bench/src/compress.ts).
 */
const small = { ...DEFAULT_DEMO, clients: 4, rounds: 3, trainSize: 1_000, testSize: 300 };

describe('the MNIST demo with compressed updates', () => {
  it.each([
    ['fp16', { up: 'fp16' as const, down: 'fp16' as const }],
    ['int8', { up: 'int8' as const, down: 'int8' as const }],
    ['topk 1%', { up: 'topk' as const, fraction: 0.01 }],
    ['topk 10%', { up: 'topk' as const, fraction: 0.1, down: 'int8' as const }],
  ])(
    '%s: every round completes with every learner, and the model learns',
    async (_, codecs) => {
      expect(demoConfig({ ...small, codecs }, { id: 'trainer' }).federation.codecs).toEqual(codecs);
      const result = await runDemo({ ...small, codecs });
      expect(result.reason).toBe('completed');
      expect(result.history.map((r) => [r.results, r.failures.length])).toEqual([
        [4, 0],
        [4, 0],
        [4, 0],
      ]);
      const accuracy = result.history.at(-1)!.evalMetrics.accuracy!;
      expect(accuracy).toBeGreaterThan(0.3);
    },
    120_000,
  );
});
