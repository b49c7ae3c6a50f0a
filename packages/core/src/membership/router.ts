import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { Link } from '../links/link.js';

/**
 * Which link reaches which node. Nodes linked directly have a route of their own; every other id
 * goes upstream (a learner's link to its trainer), where the trainer relays it. A star by default.
 */
export class Router<R = Link> {
  readonly self: NodeId;
  readonly #routes = new Map<NodeId, R>();
  #upstream: R | undefined;

  constructor(self: NodeId) {
    this.self = self;
  }

  get upstream(): R | undefined {
    return this.#upstream;
  }

  set upstream(link: R | undefined) {
    this.#upstream = link;
  }

  add(id: NodeId, link: R): void {
    this.#routes.set(id, link);
  }

  /** Removes the route only if it still points at `link` (a newer registration may have replaced it). */
  remove(id: NodeId, link: R): boolean {
    if (this.#routes.get(id) !== link) return false;
    this.#routes.delete(id);
    if (this.#upstream === link) this.#upstream = undefined;
    return true;
  }

  has(id: NodeId): boolean {
    return this.#routes.has(id);
  }

  /** The direct route, if any. */
  direct(id: NodeId): R | undefined {
    return this.#routes.get(id);
  }

  /** The link a frame for `dst` leaves on. Throws UNKNOWN_TARGET, or refuses sending to oneself. */
  linkFor(dst: NodeId): R {
    const link = this.#routes.get(dst) ?? this.#upstream;
    if (link) {
      if (dst === this.self) throw new OiafedError('UNKNOWN_TARGET', `node ${dst} cannot send to itself`);
      return link;
    }
    if (dst === this.self) throw new OiafedError('UNKNOWN_TARGET', `node ${dst} cannot send to itself`);
    throw new OiafedError('UNKNOWN_TARGET', `node ${this.self} has no route to ${JSON.stringify(dst)}`);
  }

  /** Every directly linked node. */
  peers(): NodeId[] {
    return [...this.#routes.keys()];
  }

  links(): IterableIterator<[NodeId, R]> {
    return this.#routes.entries();
  }
}
