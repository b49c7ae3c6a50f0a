import {
  PROTOCOL_VERSION,
  type ErrorFrame,
  type HelloFrame,
  type NodeId,
  type WelcomeFrame,
} from '../wire/envelope.js';
import { asOiafedError, fromWireError, OiafedError, protocolError, type WireError } from '../wire/errors.js';
import { boundedText } from '../wire/bounded-text.js';
import { MAX_CAPABILITIES, MAX_CAPABILITY_LENGTH, MAX_ROLE_LENGTH } from '../wire/frame-limits.js';
import type { Clock } from '../wire/clock.js';
import { onceWithTimeout, type Cleanup, type Settle } from '../wire/signals.js';
import type { Member } from './member.js';
import { versionMismatch } from './protocol-version.js';
import {
  judgeHello,
  type Authenticate,
  type ClientInfo,
  type Credentials,
  type Registry,
} from './registry.js';
import { ResumeSecrets } from './resume-secrets.js';
import type { Router } from './router.js';

export interface JoinOptions {
  token?: string;
  capabilities?: string[];
  metadata?: Record<string, unknown>;
  /** ms to wait for the welcome; default the node's connectTimeout. */
  timeout?: number;
  /** Send frames for nodes without a direct route through this link. Default true. */
  upstream?: boolean;
  /** The resume secret of this id's previous welcome: proves this link is the same client (a reconnect). */
  resume?: string;
}

export interface PeerInfo {
  id: NodeId;
  role: string;
  /** The secret to present (`JoinOptions.resume`) when joining this node again under the same id. */
  resume?: string;
}

/** Who may join, and how long a handshake may take. */
export interface HandshakeOptions {
  self: NodeId;
  role: string;
  connectTimeout: number;
  authenticate: Authenticate | undefined;
  credentials: Credentials | undefined;
  clock: Clock;
}

/** What the handshake needs of its node. */
export interface HandshakeHost<M extends Member> {
  readonly router: Router<M>;
  readonly registry: Registry;
  send(member: M, frame: WelcomeFrame | ErrorFrame): void;
  /** The link is open both ways: start watching its liveness. */
  opened(member: M): void;
  drop(member: M, reason: string): void;
  linkError(member: M, error: OiafedError): void;
  registered(client: ClientInfo): void;
  /** How many peers of `role` may be connected at once (undefined: no bound). */
  maxPeers(role: string): number | undefined;
}

/**
 * Why a node may refuse a hello (judgeHello, the link's own limits): a refusal with another code is out of
 * protocol.
 */
const HELLO_REFUSALS = new Set<string>([
  'UNAUTHORIZED',
  'VERSION_MISMATCH',
  'BAD_FRAME',
  'ID_TAKEN',
  'PAYLOAD_TOO_LARGE',
  'OVERLOADED',
  'INTERNAL',
]);

/** Both sides of joining: the hub judging hellos and welcoming, the joiner saying hello and awaiting its welcome. */
export class Handshake<M extends Member> {
  /** The resume secret each welcomed client was given, to take its id over again on a reconnect. */
  readonly secrets = new ResumeSecrets();

  constructor(
    readonly options: HandshakeOptions,
    readonly host: HandshakeHost<M>,
  ) {}

  /** A link on which a hello is due: dropped if none comes within `ms` (default the connect timeout). */
  awaitHello(member: M, ms = this.options.connectTimeout): void {
    member.helloTimer = this.options.clock.setTimeout(() => {
      if (member.phase === 'pending') this.host.drop(member, `no hello within ${ms} ms`);
    }, ms);
  }

  async onHello(member: M, hello: HelloFrame): Promise<void> {
    if (member.phase !== 'pending') {
      this.host.linkError(member, new OiafedError('BAD_FRAME', `unexpected hello from ${hello.src}`));
      return;
    }
    member.phase = 'authenticating';
    this.options.clock.clearTimeout(member.helloTimer);
    // A cleared timer kept in the member holds its callback and scope for the link's whole life.
    member.helloTimer = undefined;
    const { self, authenticate, credentials } = this.options;
    const verdict = await judgeHello(hello, self, authenticate, credentials);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the link may close during the await
    if (member.phase !== 'authenticating') return;
    const previous = this.host.router.direct(hello.src);
    // A connected id is taken over only by the same client (its resume secret or own credential);
    // anyone else is the one refused, so knowing a learner's id is not enough to throw it out.
    const refusal =
      verdict.refusal ??
      this.#admission(member, hello) ??
      (previous && !verdict.identified && !this.secrets.holds(hello.src, hello.resume)
        ? protocolError(
            'ID_TAKEN',
            `node id ${hello.src} is connected; only the same client (its resume secret or own credential) may take it over`,
          )
        : undefined);
    if (refusal) {
      this.host.send(member, { kind: 'error', id: 0, src: self, dst: hello.src, error: refusal });
      this.host.drop(member, `${refusal.code ?? 'UNAUTHORIZED'}: ${refusal.message}`);
      return;
    }
    member.peer = hello.src;
    member.role = hello.role;
    member.accepted = true;
    member.phase = 'open';
    member.link.established?.();
    this.host.router.add(hello.src, member);
    if (previous) this.host.drop(previous, `replaced by a new registration of ${hello.src}`);
    this.host.opened(member);
    const resume = this.secrets.issue(hello.src);
    this.host.send(member, {
      kind: 'welcome',
      version: PROTOCOL_VERSION,
      src: self,
      dst: hello.src,
      role: this.options.role,
      resume,
    });
    this.host.registered(this.host.registry.admit(hello));
  }

  /** Whether this link takes the hello's role, and the role has room for one more peer. */
  #admission(member: M, hello: HelloFrame): WireError | undefined {
    if (member.joinRoles && !member.joinRoles.includes(hello.role))
      return protocolError(
        'UNAUTHORIZED',
        `only ${member.joinRoles.join(', ')} nodes may join over this link`,
      );
    const max = this.host.maxPeers(hello.role);
    if (max === undefined) return undefined;
    // A client taking its own id over replaces itself: it is not one more.
    const others = this.host.registry.connected(hello.role).filter((id) => id !== hello.src);
    if (others.length < max) return undefined;
    return protocolError('OVERLOADED', `this node takes at most ${max} ${hello.role} peers at once`);
  }

  /** Says hello on a link in phase 'joining' and resolves once the node at its other end welcomed us. */
  join(member: M, options: JoinOptions): Promise<PeerInfo> {
    const { self, role, clock } = this.options;
    const hello: HelloFrame = {
      kind: 'hello',
      version: PROTOCOL_VERSION,
      src: self,
      role,
      capabilities: options.capabilities ?? [],
      metadata: options.metadata ?? {},
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.resume === undefined ? {} : { resume: options.resume }),
    };
    const timeout = options.timeout ?? this.options.connectTimeout;
    const wait = (settle: Settle<PeerInfo>): Cleanup => {
      member.handshake = {
        welcome: (welcome) => {
          const mismatch = versionMismatch(welcome.version);
          if (mismatch !== undefined) return settle.reject(new OiafedError('VERSION_MISMATCH', mismatch));
          member.peer = welcome.src;
          member.role = welcome.role;
          member.phase = 'open';
          member.link.established?.();
          this.host.router.add(welcome.src, member);
          if (options.upstream ?? true) this.host.router.upstream = member;
          this.host.opened(member);
          settle.resolve({
            id: welcome.src,
            role: welcome.role,
            ...(welcome.resume === undefined ? {} : { resume: welcome.resume }),
          });
        },
        refused: (error) => {
          const refusal = fromWireError('?', error);
          // A node refuses a hello only for what the protocol names; anything else is out of protocol.
          settle.reject(
            HELLO_REFUSALS.has(refusal.code)
              ? refusal
              : new OiafedError(
                  'BAD_FRAME',
                  `the join was refused out of protocol: ${boundedText(refusal.message, 200)}`,
                ),
          );
        },
        closed: (reason) =>
          settle.reject(new OiafedError('DISCONNECTED', `link closed during the handshake: ${reason}`)),
      };
      try {
        member.link.send(hello);
      } catch (error) {
        settle.reject(asOiafedError(error, 'sending the hello'));
      }
      return (error) => {
        member.handshake = undefined;
        // A failed join closes its link (already closed when that was the failure: then a no-op).
        if (error instanceof OiafedError)
          this.host.drop(member, `${error.code}: ${boundedText(error.message, 512)}`);
      };
    };
    return onceWithTimeout(timeout, 'no welcome', wait, clock);
  }
}

/** A hello this node can send: thrown at once (before a link is taken) when its role or capabilities are too long. */
export function assertHelloFits(role: string, capabilities: readonly string[]): void {
  if (role.length > MAX_ROLE_LENGTH)
    throw new OiafedError('INVALID_CONFIG', `role is longer than ${MAX_ROLE_LENGTH} characters`);
  if (
    capabilities.length > MAX_CAPABILITIES ||
    capabilities.some((c) => typeof c !== 'string' || c.length > MAX_CAPABILITY_LENGTH)
  ) {
    throw new OiafedError(
      'INVALID_CONFIG',
      `capabilities must be at most ${MAX_CAPABILITIES} strings of at most ${MAX_CAPABILITY_LENGTH} characters`,
    );
  }
}
