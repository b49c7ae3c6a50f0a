import type { NodeId } from '../wire/envelope.js';

/** A node at one end of a relayed frame. */
export interface RelayParty {
  id: NodeId;
  role: string;
}

/** What is being relayed: a call (or acknowledged event), a one-way event, or a broadcast to everyone. */
export type RelayKind = 'call' | 'event' | 'broadcast';

/**
 * Which frames a node forwards between the nodes linked to it. A server's learners are untrusted,
 * so the default is a star: a learner reaches the node it joined and nobody else.
 * - 'none': no relaying (the default);
 * - 'same-role': between nodes of the same role (learners to learners), never to other roles;
 * - 'all': everything, as a trusted hub of a simulation may;
 * - a function deciding each frame.
 * Answers (results, errors, acks, cancels) follow the request they belong to, never on their own.
 */
export type RelayPolicy =
  'none' | 'same-role' | 'all' | ((from: RelayParty, to: RelayParty, kind: RelayKind) => boolean);

export function relayAllowed(
  policy: RelayPolicy,
  from: RelayParty,
  to: RelayParty,
  kind: RelayKind,
): boolean {
  switch (policy) {
    case 'none':
      return false;
    case 'all':
      return true;
    case 'same-role':
      return from.role === to.role;
    default:
      try {
        const verdict: unknown = policy(from, to, kind);
        return verdict === true;
      } catch {
        return false;
      }
  }
}
