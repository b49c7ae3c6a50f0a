import { PROTOCOL_VERSION, type HelloFrame, type NodeId } from '../wire/envelope.js';
import { protocolError, type WireError } from '../wire/errors.js';
import { isNodeId } from '../wire/node-id.js';
import { sameText } from './resume-secrets.js';

/** Where a client stands, as the node it registered with sees it. */
export type ClientState = 'connected' | 'timeout' | 'disconnected' | 'unregistered';

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
export type Credentials = Readonly<Record<NodeId, string>> | ((id: NodeId) => string | undefined | Promise<string | undefined>);

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
  readonly size: number;
  /** Forgets clients that are no longer connected (it cannot add or change one). */
  prune(): void;
}

/**
 * The nodes that joined this one, with their states; the trainer's view of its learners. Only the
 * handshake admits and only a link's end departs: users get `view`, which cannot make up a client.
 */
export class Registry {
  readonly #clients = new Map<NodeId, ClientInfo>();

  /** The read-only face of this registry (`node.registry`): no admit or depart. */
  readonly view: ClientDirectory;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the view's size getter has a `this` of its own
    const registry = this;
    this.view = Object.freeze({
      get: (id: NodeId) => registry.get(id),
      list: (filter?: { state?: ClientState; role?: string }) => registry.list(filter),
      connected: (role?: string) => registry.connected(role),
      prune: () => registry.prune(),
      get size() {
        return registry.size;
      },
    });
  }

  get(id: NodeId): ClientInfo | undefined {
    return this.#clients.get(id);
  }

  list(filter: { state?: ClientState; role?: string } = {}): ClientInfo[] {
    const out: ClientInfo[] = [];
    for (const client of this.#clients.values()) {
      if (filter.state !== undefined && client.state !== filter.state) continue;
      if (filter.role !== undefined && client.role !== filter.role) continue;
      out.push(client);
    }
    return out;
  }

  /** Ids of connected clients, optionally of one role. */
  connected(role?: string): NodeId[] {
    return this.list({ state: 'connected', ...(role === undefined ? {} : { role }) }).map((c) => c.id);
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Records a (re-)registration and announces it. */
  admit(hello: HelloFrame, now = Date.now()): ClientInfo {
    const client: ClientInfo = {
      id: hello.src,
      role: hello.role,
      capabilities: [...hello.capabilities],
      metadata: { ...hello.metadata },
      version: hello.version,
      state: 'connected',
      registeredAt: now,
    };
    this.#clients.set(client.id, client);
    return client;
  }

  /** Marks a client gone; returns it, or undefined if it was not connected. */
  depart(id: NodeId, state: Exclude<ClientState, 'connected'>, reason: string): ClientInfo | undefined {
    const client = this.#clients.get(id);
    if (client?.state !== 'connected') return undefined;
    client.state = state;
    client.reason = reason;
    return client;
  }

  /** Forgets clients that are no longer connected. */
  prune(): void {
    for (const [id, client] of this.#clients) if (client.state !== 'connected') this.#clients.delete(id);
  }
}

/** Decides whether a hello may join: its version, its id, the shared token or check, and its own credential. */
export async function judgeHello(hello: HelloFrame, self: NodeId, authenticate: Authenticate | undefined, credentials: Credentials | undefined): Promise<HelloVerdict> {
  if (hello.version !== PROTOCOL_VERSION) {
    return { refusal: protocolError('VERSION_MISMATCH', `protocol version ${String(hello.version)} is not supported; this node speaks ${PROTOCOL_VERSION}`) };
  }
  if (!isNodeId(hello.src) || hello.src === self) {
    return { refusal: protocolError('BAD_FRAME', `node id ${JSON.stringify(hello.src.slice(0, 140))} is invalid or taken by the node it joins`) };
  }
  const identified = credentials !== undefined && (await presentsOwnCredential(hello, credentials));
  let admitted: boolean;
  if (authenticate === undefined) admitted = credentials === undefined || identified;
  else if (typeof authenticate === 'string') admitted = identified || (hello.token !== undefined && sameText(hello.token, authenticate));
  else admitted = (credentials === undefined || identified) && (await Promise.resolve()
      .then(() => authenticate(hello))
      .then((ok: unknown) => ok === true, () => false));
  if (!admitted) return { refusal: protocolError('UNAUTHORIZED', `node ${hello.src} presented a missing or wrong token`) };
  return { identified };
}

async function presentsOwnCredential(hello: HelloFrame, credentials: Credentials): Promise<boolean> {
  let own: string | undefined;
  try {
    own = typeof credentials === 'function' ? await credentials(hello.src) : Object.hasOwn(credentials, hello.src) ? credentials[hello.src] : undefined;
  } catch {
    return false;
  }
  return typeof own === 'string' && hello.token !== undefined && sameText(own, hello.token);
}
