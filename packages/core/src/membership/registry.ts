import type { HelloFrame, NodeId } from '../wire/envelope.js';
import { OiafedError, protocolError, type WireError } from '../wire/errors.js';
import { isNodeId } from '../wire/node-id.js';
import { versionMismatch } from './protocol-version.js';
import { sameText } from './resume-secrets.js';

/** Where a client stands, as the node it registered with sees it. */
export type ClientState = 'connected' | 'timeout' | 'disconnected' | 'unregistered';

/** How many departed clients a registry remembers by default (NodeOptions `registry.recentDeparted`). */
export const DEFAULT_RECENT_DEPARTED = 1_000;

/** How much a registry remembers of clients that left. */
export interface RegistryOptions {
  /**
   * Departed clients (timeout, disconnected, unregistered) kept besides the connected ones, the
   * oldest departure forgotten first; 0 forgets a client as it leaves. Learners are untrusted and
   * may come with fresh ids forever, so this, not their number, bounds the registry: at most
   * this many entries of one hello each (`helloBytes`). Default DEFAULT_RECENT_DEPARTED.
   */
  recentDeparted: number;
}

export interface ClientInfo {
  readonly id: NodeId;
  readonly role: string;
  readonly capabilities: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly version: number;
  state: ClientState;
  /** ms since epoch of the latest registration. */
  registeredAt: number;
  /** Why the client left, once it has. */
  reason?: string;
  /**
   * Set when this id registers again and the registry still held it: the state it was in then.
   * A departed state is a client coming back among the recently departed; 'connected' is a
   * client taking over its own id from a link still open (a reconnect with its resume secret or
   * credential). Absent for an id new to this node, or one that left longer ago than the
   * registry remembers (`recentDeparted`).
   */
  readonly previous?: ClientState;
}

/**
 * Decides on a joining node's hello. A string is a token every client shares; a function sees the
 * whole hello (per-client tokens, roles, capabilities) and may be async.
 */
export type Authenticate = string | ((hello: HelloFrame) => boolean | Promise<boolean>);

/**
 * Per-client credentials: each client's own secret, which its hello presents as `token`. Unlike a
 * shared token, it proves which client is joining, so it also lets a client take over its own id.
 * With credentials set, a hello joins with its own credential, or with the shared token if there
 * is one (then it cannot take over a connected id).
 */
export type Credentials =
  Readonly<Record<NodeId, string>> | ((id: NodeId) => string | undefined | Promise<string | undefined>);

/**
 * The verdict on a hello: refused with an error, or admitted (and whether it proved its id with its own
 * credential).
 */
export type HelloVerdict = { refusal: WireError } | { refusal?: undefined; identified: boolean };

/** What users see of a node's registry: its clients and their states, read-only. */
export interface ClientDirectory {
  get(id: NodeId): Readonly<ClientInfo> | undefined;
  list(filter?: { state?: ClientState; role?: string }): Readonly<ClientInfo>[];
  /** Ids of connected clients, optionally of one role. */
  connected(role?: string): NodeId[];
  /** Clients held: the connected ones and the departed ones still remembered (`list().length`). */
  readonly size: number;
  /** Forgets clients that are no longer connected (it cannot add or change one). */
  prune(): void;
}

/**
 * The nodes that joined this one, with their states; the trainer's view of its learners. Only the
 * handshake admits and only a link's end departs: users get `view`, which cannot make up a client.
 * It holds every connected client and the `recentDeparted` that left last, so a learner that comes
 * back is recognised (`ClientInfo.previous`) and one that never does is forgotten in time.
 */
export class Registry {
  readonly #recentDeparted: number;
  /** Made on the first admission: a learner has no clients, and thousands of learners may share a tab. */
  #connected: Map<NodeId, ClientInfo> | undefined;
  /** In order of departure (an entry moves here as it leaves), so the first is the one to forget. */
  #departed: Map<NodeId, ClientInfo> | undefined;

  /** The read-only face of this registry (`node.registry`): no admit or depart. */
  readonly view: ClientDirectory = new DirectoryView(this);

  constructor(options: Partial<RegistryOptions> = {}) {
    const recentDeparted = options.recentDeparted ?? DEFAULT_RECENT_DEPARTED;
    if (!Number.isSafeInteger(recentDeparted) || recentDeparted < 0) {
      throw new OiafedError(
        'INVALID_CONFIG',
        `registry.recentDeparted must be an integer >= 0 (got ${JSON.stringify(recentDeparted)})`,
      );
    }
    this.#recentDeparted = recentDeparted;
  }

  get(id: NodeId): ClientInfo | undefined {
    return this.#connected?.get(id) ?? this.#departed?.get(id);
  }

  /** Connected clients in order of registration, then departed ones in order of departure. */
  list(filter: { state?: ClientState; role?: string } = {}): ClientInfo[] {
    const out: ClientInfo[] = [];
    const from = (clients: Map<NodeId, ClientInfo> | undefined) => {
      if (!clients) return;
      for (const client of clients.values()) {
        if (filter.state !== undefined && client.state !== filter.state) continue;
        if (filter.role !== undefined && client.role !== filter.role) continue;
        out.push(client);
      }
    };
    if (filter.state === undefined || filter.state === 'connected') from(this.#connected);
    if (filter.state !== 'connected') from(this.#departed);
    return out;
  }

  /** Ids of connected clients, optionally of one role. */
  connected(role?: string): NodeId[] {
    return this.list({ state: 'connected', ...(role === undefined ? {} : { role }) }).map((c) => c.id);
  }

  get size(): number {
    return (this.#connected?.size ?? 0) + (this.#departed?.size ?? 0);
  }

  /** Records a (re-)registration, replacing what was known of the id, and returns it to announce. */
  admit(hello: HelloFrame, now = Date.now()): ClientInfo {
    const known = this.get(hello.src);
    const client: ClientInfo = {
      id: hello.src,
      role: hello.role,
      capabilities: [...hello.capabilities],
      metadata: { ...hello.metadata },
      version: hello.version,
      state: 'connected',
      registeredAt: now,
      ...(known === undefined ? {} : { previous: known.state }),
    };
    this.#departed?.delete(client.id);
    (this.#connected ??= new Map()).set(client.id, client);
    return client;
  }

  /** Marks a client gone (remembered among the recently departed); returns it, or undefined if it was not connected. */
  depart(id: NodeId, state: Exclude<ClientState, 'connected'>, reason: string): ClientInfo | undefined {
    const client = this.#connected?.get(id);
    if (!client) return undefined;
    this.#connected?.delete(id);
    client.state = state;
    client.reason = reason;
    if (this.#recentDeparted === 0) return client;
    const departed = (this.#departed ??= new Map());
    departed.set(id, client);
    if (departed.size > this.#recentDeparted) {
      const oldest = departed.keys().next();
      if (!oldest.done) departed.delete(oldest.value);
    }
    return client;
  }

  /** Forgets clients that are no longer connected. */
  prune(): void {
    this.#departed = undefined;
  }
}

/**
 * A registry seen through `ClientDirectory` only. A class rather than a frozen literal: its methods
 * live once on the prototype (a literal with a getter cost each node its own hidden class and a
 * dictionary of properties, about 1 KiB).
 */
class DirectoryView implements ClientDirectory {
  readonly #registry: Registry;

  constructor(registry: Registry) {
    this.#registry = registry;
    Object.freeze(this);
  }

  get(id: NodeId): Readonly<ClientInfo> | undefined {
    return this.#registry.get(id);
  }

  list(filter?: { state?: ClientState; role?: string }): Readonly<ClientInfo>[] {
    return this.#registry.list(filter);
  }

  connected(role?: string): NodeId[] {
    return this.#registry.connected(role);
  }

  get size(): number {
    return this.#registry.size;
  }

  prune(): void {
    this.#registry.prune();
  }
}

/** Decides whether a hello may join: its version, its id, the shared token or check, and its own credential. */
export async function judgeHello(
  hello: HelloFrame,
  self: NodeId,
  authenticate: Authenticate | undefined,
  credentials: Credentials | undefined,
): Promise<HelloVerdict> {
  const mismatch = versionMismatch(hello.version);
  if (mismatch !== undefined) return { refusal: protocolError('VERSION_MISMATCH', mismatch) };
  if (!isNodeId(hello.src) || hello.src === self) {
    return {
      refusal: protocolError(
        'BAD_FRAME',
        `node id ${JSON.stringify(hello.src.slice(0, 140))} is invalid or taken by the node it joins`,
      ),
    };
  }
  const identified = credentials !== undefined && (await presentsOwnCredential(hello, credentials));
  let admitted: boolean;
  if (authenticate === undefined) admitted = credentials === undefined || identified;
  else if (typeof authenticate === 'string')
    admitted = identified || (hello.token !== undefined && sameText(hello.token, authenticate));
  else
    admitted =
      (credentials === undefined || identified) &&
      (await Promise.resolve()
        .then(() => authenticate(hello))
        .then(
          (ok: unknown) => ok === true,
          () => false,
        ));
  if (!admitted)
    return { refusal: protocolError('UNAUTHORIZED', `node ${hello.src} presented a missing or wrong token`) };
  return { identified };
}

async function presentsOwnCredential(hello: HelloFrame, credentials: Credentials): Promise<boolean> {
  let own: string | undefined;
  try {
    own =
      typeof credentials === 'function'
        ? await credentials(hello.src)
        : Object.hasOwn(credentials, hello.src)
          ? credentials[hello.src]
          : undefined;
  } catch {
    return false;
  }
  return typeof own === 'string' && hello.token !== undefined && sameText(own, hello.token);
}
