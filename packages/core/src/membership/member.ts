import type { NodeId, WelcomeFrame } from '../wire/envelope.js';
import type { WireError } from '../wire/errors.js';
import type { Link } from '../links/link.js';

/** Where a link stands: waiting for a hello, judging it, waiting for a welcome, in use, gone. */
export type Phase = 'pending' | 'authenticating' | 'joining' | 'open' | 'closed';

/** The joining side's wait for the welcome: what the node hands it from the link. */
export interface WelcomeWait {
  welcome(frame: WelcomeFrame): void;
  refused(error: WireError): void;
  closed(reason: string): void;
}

/** What membership knows of one link of a node: who is at the other end and how it joined. */
export interface Member {
  readonly link: Link;
  phase: Phase;
  peer: NodeId | undefined;
  /** The peer's role, from its hello or welcome. */
  role: string;
  /** The roles a peer may join with over this link; undefined: any. */
  joinRoles: readonly string[] | undefined;
  /** The peer joined us: we are its hub, and it may only speak for itself. */
  accepted: boolean;
  timedOut: boolean;
  lastSeen: number;
  heard: boolean;
  handshake: WelcomeWait | undefined;
  helloTimer: unknown;
  /** Calls relayed out over this link, by caller and id, with the link to answer on if it drops. */
  readonly relayed: Map<string, Member>;
}

/** The key of a request among all callers': its caller and its id. */
export const requestKey = (src: NodeId, id: number): string => `${src}\u0000${id}`;

/** The caller and id a request key was made of. */
export function parseRequestKey(key: string): [src: NodeId, id: number] {
  const at = key.indexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
