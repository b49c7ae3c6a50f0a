import { OiafedError, type NodeId } from '@oiafed/core';
import {
  awaitHosting,
  DEFAULT_HOSTING_TIMEOUT,
  firstIndexOf,
  eventTargetEndpoint,
  PortLink,
  type HostRequest,
  type LearnerPoolOptions,
} from '@oiafed/core/internal';

export interface SpawnLearnersOptions extends LearnerPoolOptions {
  /**
   * Makes worker number `index`. Write it so your bundler sees the worker, e.g. with Vite:
   * `() => new Worker(new URL('./learner.worker.ts', import.meta.url), { type: 'module' })`,
   * where the worker module calls `hostLearnersInWorker(factory)`.
   */
  createWorker: (index: number) => Worker;
  /** Names the worker module in errors (the bundler hides its URL from us). */
  name?: string;
}

export interface WorkerLearners {
  ids: NodeId[];
  workers: Worker[];
  /**
   * Stops worker `index`, or every worker; their learners disconnect at once. Resolves once they have stopped
   * (as in Node).
   */
  terminate(index?: number): Promise<void>;
}

/** Starts learners in Web Workers and joins each to `trainer` over a MessageChannel of its own. */
export async function spawnLearners(options: SpawnLearnersOptions): Promise<WorkerLearners> {
  const { trainer, count } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new OiafedError('INVALID_CONFIG', `count must be a positive integer (got ${count})`);
  // A browser that reports no core count (nothing, or 0) gets two workers.
  const cores = (globalThis.navigator as Navigator | undefined)?.hardwareConcurrency ?? 0;
  const workerCount = Math.min(count, options.workers ?? (cores > 0 ? cores : 2));
  const hostingTimeout = options.timeout ?? DEFAULT_HOSTING_TIMEOUT;
  const prefix = options.idPrefix ?? 'learner';
  const encoding = options.encoding ?? 'clone';
  const first = firstIndexOf(options);
  const ids: NodeId[] = Array.from({ length: count }, (_, index) => `${prefix}-${first + index}`);
  const workers: Worker[] = [];
  const linksOf: PortLink[][] = [];
  const ready: Promise<NodeId[]>[] = [];

  for (let w = 0; w < workerCount; w++) {
    const worker = options.createWorker(w);
    workers.push(worker);
    const learners: { id: NodeId; index: number }[] = [];
    const links: PortLink[] = [];
    const ports: MessagePort[] = [];
    for (let index = w; index < count; index += workerCount) {
      const channel = new MessageChannel();
      const link = new PortLink(eventTargetEndpoint(channel.port1), { encoding });
      // Its hello comes once the worker has loaded the learner module: bounded by the hosting wait.
      trainer.accept(link, { helloWithin: hostingTimeout });
      links.push(link);
      learners.push({ id: ids[index]!, index: first + index });
      ports.push(channel.port2);
    }
    linksOf.push(links);
    // Browsers tell of a dying worker only through 'error'; a terminated one says nothing, so terminate()
    // closes the links itself.
    worker.addEventListener('error', (event) => {
      event.preventDefault(); // handled here: the learners are reported disconnected
      links.forEach((link) => link.close(`worker crashed: ${event.message}`));
    });
    const request: HostRequest & { ports: MessagePort[] } = {
      type: 'oiafed:host',
      learners,
      encoding,
      node: options.node ?? {},
      data: options.data,
      ports,
    };
    worker.postMessage(request, ports);
    ready.push(
      awaitHosting(
        eventTargetEndpoint(worker, { closable: false }),
        `worker ${w}${options.name ? ` (${options.name})` : ''}`,
        hostingTimeout,
        (fail) =>
          worker.addEventListener(
            'error',
            (event) =>
              fail(`worker failed to start: ${event.message || 'script error (does the module load?)'}`),
            { once: true },
          ),
      ),
    );
  }

  const terminate = async (only?: number) => {
    workers.forEach((worker, w) => {
      if (only !== undefined && w !== only) return;
      worker.terminate();
      linksOf[w]!.forEach((link) => link.close('worker terminated'));
    });
  };
  try {
    await Promise.all(ready);
  } catch (error) {
    await terminate();
    throw error;
  }
  return { ids, workers, terminate };
}
