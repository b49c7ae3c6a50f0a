import { boundedText } from '../wire/bounded-text.js';
import { Codec } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { frameProblem } from '../wire/frame-checks.js';
import { OiafedError } from '../wire/errors.js';
import type { Link, LinkHandlers, Transferable } from './link.js';
import { Inbox } from './inbox.js';

/**
 * The part of a MessagePort, a Worker or a worker_threads port that a link needs. Platform code
 * adapts each to it in a few lines (`eventTargetEndpoint` below covers the browser's).
 */
export interface PortEndpoint {
  /** `transfer` is left out when there is nothing to transfer (an empty list still costs a slower path). */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Delivers each message's data to `listener`; returns the unsubscribe. */
  subscribe(listener: (data: unknown) => void): () => void;
  /** Frees the port (MessagePort.close); a Worker's endpoint leaves this out. */
  close?(): void;
  /** Where the platform reports a port that closed under us (Node's MessagePort 'close'). */
  onClose?(listener: (reason: string) => void): void;
}

/**
 * How frames cross: as structured clones (typed arrays transferable), or as msgpack bytes. Clone
 * is the default: measured faster on this link for small and for large frames (bench suite
 * `worker`; with msgpack a 16 MiB payload is encoded, copied and decoded, where a clone moves it).
 */
export type PortEncoding = 'clone' | 'msgpack';

export interface PortLinkOptions {
  /** Default 'clone'. Both ends read both forms, so they need not agree. */
  encoding?: PortEncoding;
  codec?: Codec;
}

/** msgpack frames at least this large are handed over by transfer rather than copied. */
const LARGE_FRAME = 64 * 1024;

/** Sent on close so the other end learns of it: MessagePorts have no close event in browsers. */
const CLOSE = 'oiafed:close';

/** A link over anything shaped like a MessagePort: Web Workers, worker_threads, MessageChannel. */
export class PortLink implements Link {
  readonly #endpoint: PortEndpoint;
  readonly #encoding: PortEncoding;
  readonly #codec: Codec;
  #handlers: LinkHandlers | undefined;
  #unsubscribe: (() => void) | undefined;
  readonly #inbox = new Inbox<unknown>();
  #closed = false;

  constructor(endpoint: PortEndpoint, options: PortLinkOptions = {}) {
    this.#endpoint = endpoint;
    this.#encoding = options.encoding ?? 'clone';
    this.#codec = options.codec ?? new Codec();
    // Subscribe at once: a port starts queueing only after its first listener (MessagePort.start).
    this.#unsubscribe = endpoint.subscribe((data) => this.#receive(data));
    endpoint.onClose?.((reason) => this.#shut(reason));
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: Envelope, transfer?: readonly Transferable[]): void {
    if (this.#closed) throw new OiafedError('DISCONNECTED', 'port link is closed');
    if (this.#encoding === 'clone') {
      try {
        if (transfer && transfer.length > 0) this.#endpoint.postMessage(frame, [...transfer]);
        else this.#endpoint.postMessage(frame);
      } catch (cause) {
        throw new OiafedError(
          'NOT_SERIALIZABLE',
          `cannot post ${frame.kind} frame: ${(cause as Error).message}`,
          { cause },
        );
      }
      return;
    }
    // msgpackr's output may share an ArrayBuffer with other frames, and a view is cloned with its
    // whole buffer: copy out just the bytes into a buffer of their own (not with slice(): in Node
    // the encoder returns a Buffer, whose copies come from a shared 8 KiB pool), and hand over
    // large ones by transfer.
    const bytes = new Uint8Array(this.#codec.encode(frame));
    if (bytes.byteLength >= LARGE_FRAME) this.#endpoint.postMessage(bytes, [bytes.buffer]);
    else this.#endpoint.postMessage(bytes);
  }

  listen(handlers: LinkHandlers): void {
    this.#handlers = handlers;
    this.#inbox.listen({ data: (data) => this.#deliver(data), close: handlers.close });
  }

  close(reason = 'closed'): void {
    if (this.#closed) return;
    try {
      this.#endpoint.postMessage([CLOSE, reason]);
    } catch {
      // The other side is already gone.
    }
    this.#shut(reason);
  }

  #receive(data: unknown): void {
    if (this.#closed) return;
    if (Array.isArray(data) && data[0] === CLOSE)
      return this.#shut(boundedText(data[1] ?? 'closed by peer', 256));
    this.#inbox.push(data);
  }

  #deliver(data: unknown): void {
    const handlers = this.#handlers!;
    let frame: Envelope;
    try {
      frame = data instanceof Uint8Array ? this.#codec.decode(data) : checked(data);
    } catch (error) {
      return handlers.error ? handlers.error(error as OiafedError) : this.close((error as Error).message);
    }
    handlers.frame(frame);
  }

  #shut(reason: string): void {
    // Set first: closing the endpoint may report its close back here.
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#endpoint.close?.();
    this.#inbox.close(reason);
  }
}

function checked(data: unknown): Envelope {
  const problem = frameProblem(data);
  if (problem) throw new OiafedError('BAD_FRAME', problem);
  return data as Envelope;
}

/** What browsers' MessagePort, Worker and worker scope have in common. */
export interface MessageTargetLike {
  // eslint-disable-next-line @typescript-eslint/unified-signatures -- one signature would not take DOM's MessagePort
  postMessage(message: unknown, transfer: Transferable[]): void;
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  start?(): void;
  close?(): void;
}

/** An endpoint over an EventTarget-style port (browser MessagePort, Worker, DedicatedWorkerGlobalScope). */
export function eventTargetEndpoint(
  target: MessageTargetLike,
  options: { closable?: boolean } = {},
): PortEndpoint {
  return {
    postMessage: (message, transfer) =>
      transfer ? target.postMessage(message, transfer) : target.postMessage(message),
    subscribe(listener) {
      const onMessage = (event: { data: unknown }) => listener(event.data);
      target.addEventListener('message', onMessage);
      target.start?.();
      return () => target.removeEventListener('message', onMessage);
    },
    ...(options.closable === false || !target.close ? {} : { close: () => target.close!() }),
  };
}
