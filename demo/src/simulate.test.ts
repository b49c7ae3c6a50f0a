import { maxAbsDiff } from '@oiafed/core';
import { describe, expect, it } from 'vitest';
import { partition, trainTestSplit } from './mnist.js';
import { loadMnist } from './mnist-node.js';
import { DEFAULT_DEMO, runDemo } from './simulate.js';

const small = { ...DEFAULT_DEMO, clients: 4, trainSize: 1_200, testSize: 500, rounds: 2 };

describe('the MNIST demo', () => {
  it('trains a global model well above chance in a short FedAvg run', async () => {
    const rounds: number[] = [];
    const result = await runDemo(small, { onRound: (s) => rounds.push(s.evalMetrics.accuracy!) });
    expect(result.reason).toBe('completed');
    expect(result.history).toHaveLength(2);
    expect(result.history.every((r) => r.results === 4 && r.failures.length === 0)).toBe(true);
    expect(rounds).toEqual(result.history.map((r) => r.evalMetrics.accuracy));
    expect(result.finalAccuracy).toBeGreaterThan(0.6); // chance is 0.1
  });

  it('stops at the first round that reaches --target and reports it', async () => {
    const result = await runDemo({ ...small, rounds: 5, target: 0.3 });
    expect(result.reason).toBe('condition');
    expect(result.targetRound).toBe(result.rounds);
    expect(result.finalAccuracy).toBeGreaterThanOrEqual(0.3);
  });

  it('runs FedSGD (one full-batch step per round) and FedProx', async () => {
    const fedsgd = await runDemo({ ...small, rounds: 3, epochs: 1, batchSize: 'full', lr: 0.5 });
    expect(fedsgd.finalAccuracy).toBeGreaterThan(0.2);
    const fedprox = await runDemo({ ...small, strategy: 'fedprox', mu: 0.1, rounds: 1 });
    expect(fedprox.finalAccuracy).toBeGreaterThan(0.5);
  });

  it('reaches the same model and accuracy with learners in worker threads as in memory, for the same seed', async () => {
    const inMemory = await runDemo(small);
    const inWorkers = await runDemo({ ...small, mode: 'worker', workers: 2 });
    expect(inWorkers.history.map((r) => r.results)).toEqual([4, 4]);
    expect(maxAbsDiff(inWorkers.weights, inMemory.weights)).toBeLessThanOrEqual(1e-5);
    expect(inWorkers.finalAccuracy).toBeCloseTo(inMemory.finalAccuracy, 3);
  });

  it('reaches the same model over WebSocket and over WebRTC data channels (learners in this process) as in memory', async () => {
    const inMemory = await runDemo(small);
    for (const mode of ['websocket', 'webrtc'] as const) {
      const overNetwork = await runDemo({ ...small, mode, port: 0, nodeLearners: true });
      expect(overNetwork.history.map((r) => r.results)).toEqual([4, 4]);
      expect(maxAbsDiff(overNetwork.weights, inMemory.weights)).toBeLessThanOrEqual(1e-5);
    }
  }, 60_000);

  it('splits the digits IID or non-IID by label shards, reproducibly for a seed', () => {
    const { train } = trainTestSplit(loadMnist(), 2_000, 100, 3);
    const labels = (d: { y: Uint8Array }) => new Set(d.y);
    const iid = partition(train, 10, 'iid', 3);
    expect(iid.reduce((n, d) => n + d.count, 0)).toBe(2_000);
    expect(iid.every((d) => labels(d).size === 10)).toBe(true);
    const noniid = partition(train, 10, 'noniid', 3);
    expect(noniid.every((d) => d.count === 200 && labels(d).size <= 4)).toBe(true);
    expect(partition(train, 10, 'noniid', 3).map((d) => Array.from(d.y))).toEqual(
      noniid.map((d) => Array.from(d.y)),
    );
  });
});
