import type { NodeId } from '../wire/envelope.js';

/** 128 random bits, hex: what a welcome gives a client so its next link can prove it is the same client. */
export function newResumeSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  // join, not `+=`: the registry keeps one per client, and a string built by appending stays a
  // tree of 16 pieces (about 300 bytes) where a flat one is 56.
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The resume secret of every client registered on this node. A link that claims an id already
 * connected takes it over only with that id's secret: otherwise anyone who knows a learner's id
 * could throw it out (or two links would fight over it).
 */
export class ResumeSecrets {
  /** Made on the first welcome: a learner never gives one, and thousands of learners may share a tab. */
  #secrets: Map<NodeId, string> | undefined;

  /** A fresh secret for `id`, replacing the one before: each welcome hands out a new one. */
  issue(id: NodeId): string {
    const secret = newResumeSecret();
    (this.#secrets ??= new Map()).set(id, secret);
    return secret;
  }

  /** Whether `secret` is the one `id` was last given; compared in constant time. */
  holds(id: NodeId, secret: string | undefined): boolean {
    const expected = this.#secrets?.get(id);
    return expected !== undefined && secret !== undefined && sameText(expected, secret);
  }

  forget(id: NodeId): void {
    this.#secrets?.delete(id);
  }
}

/** Equal strings, in a time that does not depend on where they first differ. */
export function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ (i < b.length ? b.charCodeAt(i) : 0);
  return diff === 0;
}
