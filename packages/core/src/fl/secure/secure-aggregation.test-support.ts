import { afterEach } from 'vitest';
import { joinInMemory } from '../../connect/join-in-memory.js';
import type { DataFrame } from '../../wire/envelope.js';
import { Node } from '../../rpc/node.js';
import { CancelScope } from '../../rpc/cancel-scope.js';
import { Cohort } from '../cohort.js';
import { Federation, type FederationOptions } from '../federation.js';
import { fixed, FixedLearner } from '../federation.test-support.js';
import type { Learner } from '../learner.js';
import { serveLearner } from '../serve-learner.js';
import { tensor, type Weights } from '../weights.js';
import { SecureAggregationClient } from './learner-side.js';
import { SECURE_AGGREGATION_METHODS, type SecureAggregationMethods } from './messages.js';

/*
 * A trainer and learners over strict memory links for secure aggregation's tests, with hooks that
 * make a learner misbehave in one phase. Importing it closes the nodes it made after each test.
 */

/** How a test learner misbehaves: each hook gets the honest answer (or none) and its node. */
export type Hooks = {
  [M in keyof SecureAggregationMethods]?: (
    honest: () => ReturnType<SecureAggregationMethods[M]>,
    node: Node,
  ) => unknown;
};

export const nodes: Node[] = [];
afterEach(() => {
  nodes.splice(0).forEach((n) => n.close());
});

/** A trainer and learners over strict memory links (every frame through the codec); `hooks` per learner index. */
export async function setUp(learners: Learner[], hooks: (i: number) => Hooks | undefined = () => undefined) {
  const received: DataFrame[] = [];
  const trainer = new Node({
    id: 'trainer',
    role: 'trainer',
    heartbeat: false,
    interceptors: [{ name: 'record', inbound: (frame) => (received.push(frame), frame) }],
  });
  nodes.push(trainer);
  for (const [i, learner] of learners.entries()) {
    const node = new Node({ id: `learner-${String(i).padStart(3, '0')}`, role: 'learner', heartbeat: false });
    nodes.push(node);
    const h = hooks(i);
    if (h) serveHooked(node, learner, h);
    else serveLearner(node, learner);
    await joinInMemory(trainer, node, { strict: true });
  }
  return { trainer, received };
}

export function serveHooked(node: Node, learner: Learner, hooks: Hooks): void {
  node.serve(learner);
  const honest = new SecureAggregationClient(learner);
  const served: Record<string, (params: never) => unknown> = {};
  for (const method of SECURE_AGGREGATION_METHODS) {
    const hook = hooks[method] as ((h: () => unknown, n: Node) => unknown) | undefined;
    served[method] = (params: never) => {
      const answer = () => (honest[method] as (p: never) => unknown).call(honest, params);
      return hook ? hook(answer, node) : answer();
    };
  }
  node.serve(served, { methods: SECURE_AGGREGATION_METHODS });
}

/** Closes the learner's node mid-phase: the trainer sees it drop (DISCONNECTED) and never gets an answer. */
export const drop = (_honest: () => unknown, node: Node) => {
  node.close();
  return new Promise(() => undefined);
};

export const start: Weights = { w: tensor([0, 0, 0, 0]), b: tensor([0]) };
/** Learner i's model: distinct values in [-0.9, 0.9], i + 1 examples. */
export const learnerAt = (i: number) =>
  fixed(
    [0.01 * (i % 90) - 0.45, -0.3 + 0.005 * i, 0.123456, 0.8 - 0.01 * (i % 170)],
    0.05 * (i % 7),
    (i % 5) + 1,
  );

export const SECURE = { clipRange: 1 };

export function plainFedAvg(learners: readonly FixedLearner[]): Weights {
  const total = learners.reduce((n, l) => n + l.numExamples, 0);
  const out: Weights = {};
  for (const name of Object.keys(start)) {
    const data = new Float32Array(start[name]!.data.length);
    for (const l of learners)
      l.update[name]!.data.forEach((v, i) => (data[i]! += (v * l.numExamples) / total));
    out[name] = { shape: [...start[name]!.shape], data };
  }
  return out;
}

export function cohortOn(trainer: Node): Cohort {
  return new Cohort({
    node: trainer,
    round: 1,
    timeLeft: () => undefined,
    calls: new CancelScope().signal,
    signal: new AbortController().signal,
    limits: { maxExamples: 1000 },
    activity: new Map(),
    trained: () => undefined,
    outcome: () => undefined,
  });
}

export async function federate(
  learners: Learner[],
  options: Partial<FederationOptions>,
  hooks?: (i: number) => Hooks | undefined,
) {
  const { trainer, received } = await setUp(learners, hooks);
  const federation = new Federation({
    node: trainer,
    rounds: 1,
    minClients: learners.length,
    minResults: 1,
    initialWeights: start,
    secureAggregation: SECURE,
    ...options,
  });
  return { federation, received, trainer };
}
