import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { Weights } from '@oiafed/core';
import { CLASSES, PIXELS, type Dataset } from './mnist.js';

/**
 * Lets the event loop run (pings answered, messages read) in the middle of long training. Node:
 * setImmediate; browsers: a MessageChannel hop (setTimeout would be clamped to 4 ms).
 */
export function yieldToEventLoop(): Promise<void> {
  // Typed by what it uses, so this compiles with or without the DOM's types (the benchmarks have none).
  const g = globalThis as unknown as {
    setImmediate?: (fn: () => void) => void;
    MessageChannel?: new () => {
      port1: { onmessage: ((event: unknown) => void) | null };
      port2: { postMessage(message: unknown): void };
    };
  };
  if (g.setImmediate) return new Promise((resolve) => g.setImmediate!(resolve));
  return new Promise((resolve) => {
    const channel = new g.MessageChannel!();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

let backend: Promise<void> | undefined;
let backendName: string | undefined;

/**
 * Picks the tfjs backend: wasm (several times faster than cpu here) unless told otherwise. Callers
 * may race (several learners in one worker): they share one switch.
 */
export function useBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  if (backendName !== name) {
    backendName = name;
    const previous = backend ?? Promise.resolve();
    backend = previous.then(async () => {
      const added = listenersAddedDuring();
      await tf.setBackend(name);
      await tf.ready();
      added.remove();
    });
  }
  return backend!;
}

/** What a Node process offers for listening to its failures (typed here: the pages have no Node types). */
interface FailureEvents {
  listeners(event: string): ((...args: unknown[]) => void)[];
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
}

const FAILURE_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Takes off the process's failure listeners added from now until `remove()`. tfjs-backend-wasm's
 * Emscripten module, when it starts in Node, adds an 'uncaughtException' listener that throws the
 * error again (and an 'unhandledRejection' one that throws it): Node then prints the line it was
 * thrown from, the module's whole minified source (tens of KB), before any error of ours. Without
 * them a failure reaches the process's own handling (one line from the demo's CLI). Browsers have
 * no `process`: nothing to do there.
 */
function listenersAddedDuring(): { remove(): void } {
  const proc = (globalThis as { process?: FailureEvents }).process;
  if (!proc) return { remove: () => undefined };
  const before = new Map(FAILURE_EVENTS.map((event) => [event, new Set(proc.listeners(event))]));
  return {
    remove() {
      for (const event of FAILURE_EVENTS)
        for (const listener of proc.listeners(event))
          if (!before.get(event)!.has(listener)) proc.removeListener(event, listener);
    },
  };
}

/** The FedAvg paper's "2NN": 784-200-200-10, ReLU. Deterministic initial weights for a seed. */
export function createModel(seed: number): tf.Sequential {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 10 + s });
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [PIXELS],
        units: 200,
        activation: 'relu',
        name: 'hidden1',
        kernelInitializer: init(1),
      }),
      tf.layers.dense({ units: 200, activation: 'relu', name: 'hidden2', kernelInitializer: init(2) }),
      tf.layers.dense({ units: CLASSES, name: 'logits', kernelInitializer: init(3) }),
    ],
  });
}

/** The model's variables as named typed arrays, e.g. `hidden1/kernel`. */
export function modelWeights(model: tf.LayersModel): Weights {
  const out: Weights = {};
  for (const layer of model.layers) {
    layer.weights.forEach((variable, i) => {
      const name = `${layer.name}/${variable.originalName.split('/').pop() ?? i}`;
      out[name] = {
        shape: [...variable.shape] as number[],
        data: variable.read().dataSync() as Float32Array,
      };
    });
  }
  return out;
}

export function setModelWeights(model: tf.LayersModel, weights: Weights): void {
  for (const layer of model.layers) {
    const values = layer.weights.map((variable, i) => {
      const name = `${layer.name}/${variable.originalName.split('/').pop() ?? i}`;
      const t = weights[name];
      if (!t) throw new Error(`weights have no tensor ${name}`);
      return tf.tensor(t.data, t.shape);
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

export function batchTensors(data: Dataset, from: number, to: number): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  return tf.tidy(() => ({
    xs: tf.tensor2d(data.x.subarray(from * PIXELS, to * PIXELS), [to - from, PIXELS]),
    ys: tf.oneHot(tf.tensor1d(data.y.subarray(from, to), 'int32'), CLASSES).toFloat() as tf.Tensor2D,
  }));
}

/** Mean cross-entropy and accuracy of the model on a dataset, in batches. */
export function evaluateModel(
  model: tf.LayersModel,
  data: Dataset,
  batch = 1000,
): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let from = 0; from < data.count; from += batch) {
    const to = Math.min(data.count, from + batch);
    const [l, c] = tf.tidy(() => {
      const { xs, ys } = batchTensors(data, from, to);
      const logits = model.predict(xs) as tf.Tensor2D;
      const batchLoss = tf.losses.softmaxCrossEntropy(ys, logits).mul(to - from);
      const hits = logits.argMax(1).equal(ys.argMax(1)).sum();
      return [batchLoss.dataSync()[0]!, hits.dataSync()[0]!];
    });
    loss += l;
    correct += c;
  }
  return { loss: loss / data.count, accuracy: correct / data.count };
}
