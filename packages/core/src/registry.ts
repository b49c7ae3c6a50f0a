import { PROTOCOL_VERSION, type HelloFrame, type NodeId } from './envelope.js';
import { protocolError, type WireError } from './errors.js';
import { isNodeId } from './node-id.js';

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

/** The nodes that joined this one, with their states; the trainer's view of its learners. */
export class Registry {
  readonly #clients = new Map<NodeId, ClientInfo>();

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
    if (!client || client.state !== 'connected') return undefined;
    client.state = state;
    client.reason = reason;
    return client;
  }

  /** Forgets clients that are no longer connected. */
  prune(): void {
    for (const [id, client] of this.#clients) if (client.state !== 'connected') this.#clients.delete(id);
  }
}

/** Why a hello must be refused, or undefined when it may join. */
export async function refuseHello(hello: HelloFrame, self: NodeId, authenticate: Authenticate | undefined): Promise<WireError | undefined> {
  if (hello.version !== PROTOCOL_VERSION) {
    return protocolError('VERSION_MISMATCH', `protocol version ${hello.version} is not supported; this node speaks ${PROTOCOL_VERSION}`);
  }
  if (!isNodeId(hello.src) || hello.src === self) {
    return protocolError('BAD_FRAME', `node id ${JSON.stringify(hello.src)} is invalid or taken by the node it joins`);
  }
  if (authenticate !== undefined) {
    let ok: boolean;
    try {
      ok = typeof authenticate === 'string' ? hello.token === authenticate : await authenticate(hello);
    } catch {
      ok = false;
    }
    if (!ok) return protocolError('UNAUTHORIZED', `node ${hello.src} presented a missing or wrong token`);
  }
  return undefined;
}
