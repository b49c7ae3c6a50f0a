import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { OiafedError, type NodeId } from '@oiafed/core';
import {
  awaitHosting,
  DEFAULT_HOSTING_TIMEOUT,
  firstIndexOf,
  PortLink,
  type HostRequest,
  type LearnerPoolOptions,
} from '@oiafed/core/internal';
import { nodePortEndpoint } from './node-port.js';

/**
 * Flags a process may run with that a worker refuses (ERR_WORKER_INVALID_EXEC_ARGV): a trainer
 * started with them (`node --expose-gc`, as the benchmarks are) still spawns its learners.
 */
const PROCESS_ONLY_FLAGS = new Set(['--expose-gc', '--expose_gc']);

export interface SpawnLearnersOptions extends LearnerPoolOptions {
  /**
   * A module (path or URL) whose default export (or `createLearner`) makes a learner: `(ctx) => learner`, or
   * a class.
   */
  module: string | URL;
  /**
   * Modules (paths or URLs) each worker imports, in order, before the learner module: for a loader other
   * than tsx, e.g. a file that calls `module.register('ts-node/esm', import.meta.url)`. Node 20 does not
   * run the parent's `--import` in a worker. A TypeScript learner module needs none of this when tsx is
   * installed: the worker registers it.
   */
  preload?: (string | URL)[];
  /** Node flags for the workers. Default: the parent's. */
  execArgv?: string[];
}

export interface WorkerLearners {
  ids: NodeId[];
  workers: Worker[];
  /** Stops worker `index`, or every worker; their learners disconnect. Resolves once they have stopped. */
  terminate(index?: number): Promise<void>;
}

// Running from sources (tests, tsx) the entry is a .ts file: a shim registers tsx's loader first.
const fromSources = fileURLToPath(import.meta.url).endsWith('.ts');
const entry = new URL(fromSources ? './learner-worker.ts' : './learner-worker.js', import.meta.url);
const start = fromSources ? new URL('./ts-worker-entry.mjs', import.meta.url) : entry;

/** Starts learners in worker_threads and joins each to `trainer` over a MessagePort link of its own. */
export async function spawnLearners(options: SpawnLearnersOptions): Promise<WorkerLearners> {
  const { trainer, count } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new OiafedError('INVALID_CONFIG', `count must be a positive integer (got ${count})`);
  const workerCount = Math.min(count, options.workers ?? availableParallelism());
  const module = fileHref(options.module);
  const preload = (options.preload ?? []).map(fileHref);
  const hostingTimeout = options.timeout ?? DEFAULT_HOSTING_TIMEOUT;
  const prefix = options.idPrefix ?? 'learner';
  const encoding = options.encoding ?? 'clone';
  const inherited = process.execArgv.filter((flag) => !PROCESS_ONLY_FLAGS.has(flag));
  const execArgv = options.execArgv ?? (fromSources ? [...inherited, '--conditions=source'] : inherited);
  const workers: Worker[] = [];
  const first = firstIndexOf(options);
  const ids: NodeId[] = Array.from({ length: count }, (_, index) => `${prefix}-${first + index}`);
  const ready: Promise<NodeId[]>[] = [];

  for (let w = 0; w < workerCount; w++) {
    const worker = new Worker(start, { workerData: { module, preload, entry: entry.href }, execArgv });
    workers.push(worker);
    const learners: { id: NodeId; index: number }[] = [];
    const links: PortLink[] = [];
    const ports = [];
    for (let index = w; index < count; index += workerCount) {
      const id = ids[index]!;
      const channel = new MessageChannel();
      const link = new PortLink(nodePortEndpoint(channel.port1), { encoding });
      // Its hello comes once the worker has loaded the learner module: bounded by the hosting wait.
      trainer.accept(link, { helloWithin: hostingTimeout });
      links.push(link);
      learners.push({ id, index: first + index });
      ports.push(channel.port2);
    }
    // A dead worker takes its learners with it: close their links now rather than at the next heartbeat.
    const closeLinks = (why: string) => links.forEach((link) => link.close(why));
    worker.once('exit', (code) => closeLinks(`worker exited with code ${code}`));
    worker.once('error', (error) => closeLinks(`worker crashed: ${error.message}`));
    const request: HostRequest & { ports: unknown[] } = {
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
        nodePortEndpoint(worker),
        `worker ${w} (learner module ${module})`,
        hostingTimeout,
        (fail) => {
          worker.once('error', (error) => fail(`worker crashed: ${error.message}`));
          worker.once('exit', (code) =>
            fail(`worker exited with code ${code} before its learners were ready`),
          );
        },
      ),
    );
  }

  const terminate = async (only?: number) => {
    await Promise.all(
      workers.filter((_, w) => only === undefined || w === only).map((worker) => worker.terminate()),
    );
  };
  try {
    await Promise.all(ready);
  } catch (error) {
    await terminate();
    throw error;
  }
  return { ids, workers, terminate };
}

/** A module given as a URL, a file: URL string or a path (relative to the working directory). */
function fileHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return module.startsWith('file:') ? module : pathToFileURL(module).href;
}
