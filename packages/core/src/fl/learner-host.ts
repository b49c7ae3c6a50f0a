import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { HeartbeatOptions } from '../membership/heartbeat.js';
import { Node } from '../rpc/node.js';
import { PortLink, type PortEncoding, type PortEndpoint } from '../links/port-link.js';
import type { Learner } from './learner.js';
import { serveLearner } from './serve-learner.js';
import { settleWithin } from '../wire/signals.js';

/** What a learner factory learns about the learner it makes. */
export interface LearnerContext {
  id: NodeId;
  /** 0-based position among all the learners spawned together (from `firstIndex`, if given). */
  index: number;
  /** Whatever the spawner was given as `data` (e.g. where the learner's share of the data is). */
  data: unknown;
}

export type LearnerFactory = (ctx: LearnerContext) => Learner | object | Promise<Learner | object>;

/** Sent by a spawner to a worker: the learners it is to host, each with a port of its own in `ports`. */
export interface HostRequest {
  type: 'oiafed:host';
  learners: { id: NodeId; index: number }[];
  encoding: PortEncoding;
  node: { timeout?: number; heartbeat?: Partial<HeartbeatOptions> | false; exposeStack?: boolean };
  data: unknown;
}

/** What every learner spawner (worker_threads, Web Workers) is told. */
export interface LearnerPoolOptions {
  /** The trainer's node: every learner joins it. */
  trainer: Node;
  /** How many learners. */
  count: number;
  /**
   * How many workers host them. Default: one per learner up to the machine's cores; past that,
   * learners share workers round-robin (more threads than cores only add switching and a V8
   * heap each).
   */
  workers?: number;
  /** Learner ids are `${idPrefix}-${index}`. Default 'learner'. */
  idPrefix?: string;
  /**
   * The first learner's index (`ctx.index`, and its id's number): the learners are firstIndex to
   * firstIndex + count - 1. Default 0. Learners split over several trainers (the aggregators of a
   * hierarchy) keep the ids and shares they would have had under one.
   */
  firstIndex?: number;
  /** Handed to the factory as `ctx.data` (structured-clonable). */
  data?: unknown;
  /** Options of the learner nodes inside the workers. */
  node?: HostRequest['node'];
  encoding?: PortEncoding;
  /** ms for every worker to register its learners. Default 60 s. */
  timeout?: number;
}

/** A pool's `firstIndex`, checked: INVALID_CONFIG unless an integer >= 0. */
export function firstIndexOf(options: Pick<LearnerPoolOptions, 'firstIndex'>): number {
  const first = options.firstIndex ?? 0;
  if (!Number.isSafeInteger(first) || first < 0)
    throw new OiafedError('INVALID_CONFIG', `firstIndex must be an integer >= 0 (got ${first})`);
  return first;
}

export type HostReply = { type: 'oiafed:ready'; ids: NodeId[] } | { type: 'oiafed:error'; message: string };

export function isHostRequest(value: unknown): value is HostRequest & { ports: unknown[] } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'oiafed:host';
}

/**
 * Worker side: makes each requested learner, serves it on a node of its own, and joins that node
 * to the trainer over its port. Resolves once every learner is registered.
 */
export async function hostLearners(
  request: HostRequest,
  ports: readonly PortEndpoint[],
  factory: LearnerFactory,
): Promise<Node[]> {
  return Promise.all(
    request.learners.map(async ({ id, index }, i) => {
      const learner = await factory({ id, index, data: request.data });
      const node = new Node({ id, role: 'learner', ...request.node });
      serveLearner(node, learner);
      await node.connect(new PortLink(ports[i]!, { encoding: request.encoding }), {
        capabilities: ['train', 'evaluate'],
        metadata: { index },
      });
      return node;
    }),
  );
}

/** Runs `hostLearners` for a request that arrived on a worker's control port, and answers it. */
export async function answerHostRequest(
  reply: (message: HostReply) => void,
  request: HostRequest,
  ports: readonly PortEndpoint[],
  loadFactory: () => Promise<LearnerFactory>,
): Promise<Node[]> {
  try {
    const nodes = await hostLearners(request, ports, await loadFactory());
    reply({ type: 'oiafed:ready', ids: nodes.map((n) => n.id) });
    return nodes;
  } catch (error) {
    reply({ type: 'oiafed:error', message: error instanceof Error ? error.message : String(error) });
    return [];
  }
}

/** ms a worker may take to load its learner module and host its learners (Node and browsers alike). */
export const DEFAULT_HOSTING_TIMEOUT = 60_000;

/** Spawner side: waits for a worker's answer to its host request; `what` names the worker in errors. */
export function awaitHosting(
  control: PortEndpoint,
  what: string,
  timeout: number,
  exited: (fail: (reason: string) => void) => void,
): Promise<NodeId[]> {
  const failure = (reason: string) => new OiafedError('INVALID_CONFIG', `${what}: ${reason}`);
  return settleWithin<NodeId[]>(
    timeout,
    (settle) => {
      const unsubscribe = control.subscribe((message) => {
        const m = message as HostReply | null | undefined;
        if (m?.type === 'oiafed:ready') settle.resolve(m.ids);
        else if (m?.type === 'oiafed:error') settle.reject(failure(m.message));
      });
      exited((reason) => settle.reject(failure(reason)));
      return unsubscribe;
    },
    (settle) => settle.reject(failure(`learners not ready within ${timeout} ms`)),
  );
}

/** The factory a learner module exports: `default` or `createLearner`, a function or a class. */
export function factoryOf(module: Record<string, unknown>, name: string): LearnerFactory {
  const candidate = module.default ?? module.createLearner;
  if (typeof candidate !== 'function') {
    throw new OiafedError(
      'INVALID_CONFIG',
      `learner module ${name} exports no default (or createLearner) function or class`,
    );
  }
  const fn = candidate as (ctx: LearnerContext) => object;
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) {
    const Class = fn as unknown as new (ctx: LearnerContext) => object;
    return (ctx) => new Class(ctx);
  }
  return fn;
}
