import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { Federation, type FederationOptions } from './federation.js';
import { serveLearner } from './serve-learner.js';
import type { EvaluateParams, EvaluateResult, Learner, TrainParams, TrainResult } from './learner.js';
import { tensor, type Weights } from './weights.js';

/**
 * `federate(learners, options)`: a trainer node and one learner node per learner object (ids
 * learner-0, learner-1...), joined over strict memory links, and a Federation on the trainer.
 * The test closes `nodes` after each test.
 */
export function federationMaker() {
  const nodes: Node[] = [];
  async function federate(learners: Learner[], options: Omit<FederationOptions, 'node'>) {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    nodes.push(trainer);
    const learnerNodes = await Promise.all(
      learners.map(async (learner, i) => {
        const node = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false });
        nodes.push(node);
        serveLearner(node, learner);
        await joinInMemory(trainer, node, { strict: true });
        return node;
      }),
    );
    return { trainer, learnerNodes, federation: new Federation({ node: trainer, ...options }) };
  }
  return { nodes, federate };
}

/** Returns a fixed update: makes the expected aggregate computable by hand. */
export class FixedLearner implements Learner {
  constructor(
    readonly update: Weights,
    readonly numExamples: number,
  ) {}
  train(): TrainResult {
    return { weights: this.update, numExamples: this.numExamples, metrics: { loss: this.numExamples } };
  }
  evaluate() {
    return { numExamples: this.numExamples, metrics: { accuracy: this.numExamples / 100 } };
  }
  getWeights() {
    return this.update;
  }
  setWeights() {
    // Its answers are fixed or scripted: there is no model to set.
  }
}

export const fixed = (w: number[], b: number, n: number) =>
  new FixedLearner({ w: tensor(w, [w.length]), b: tensor([b], [1]) }, n);

/** What a scripted method may answer: anything, as a hostile or broken learner would. */
export interface Script {
  train?: (params: TrainParams) => unknown;
  evaluate?: (params: EvaluateParams) => unknown;
  getWeights?: () => unknown;
}

/**
 * An honest FixedLearner with some methods replaced by a script. A class, so every method a node
 * serves is there (a spread of a class instance drops its prototype's methods); the one cast is
 * on a scripted answer, which may be anything a learner sends.
 */
export class ScriptedLearner implements Learner {
  constructor(
    readonly base: FixedLearner,
    readonly script: Script,
  ) {}
  train(params: TrainParams): Promise<TrainResult> {
    return Promise.resolve(
      this.script.train ? this.script.train(params) : this.base.train(),
    ) as Promise<TrainResult>;
  }
  evaluate(params: EvaluateParams): Promise<EvaluateResult> {
    return Promise.resolve(
      this.script.evaluate ? this.script.evaluate(params) : this.base.evaluate(),
    ) as Promise<EvaluateResult>;
  }
  getWeights(): Promise<Weights> {
    return Promise.resolve(
      this.script.getWeights ? this.script.getWeights() : this.base.getWeights(),
    ) as Promise<Weights>;
  }
  setWeights(): void {
    // The script decides every answer: there is no model to set.
  }
}
