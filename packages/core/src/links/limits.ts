import { DEFAULT_MAX_DECODED_BYTES } from '../wire/codec.js';
import type { ByteBudget } from './byte-budget.js';

/**
 * What a server grants the peers it does not trust, in bytes, counts and ms (the run config's
 * `security` section holds these with the same names). Defaults keep a trainer with 1,000 learners
 * under 1 GiB whatever they send (hostile-learners.scale.test.ts measures it).
 */
export interface ServerLimits {
  /** Connections held at once; more are refused. */
  maxConnections: number;
  /** ms a connection may take to open (a TCP connection its WebSocket upgrade, a data channel its open). */
  upgradeTimeout: number;
  /** Bytes a link may hold before its hello is accepted (the hello and nothing else). */
  helloBytes: number;
  /** Bytes of frames still arriving (chunks, attachments, a message in flight), per link. */
  linkPartialBytes: number;
  /** Chunks held per link, whatever their size (empty ones too). */
  linkPartialChunks: number;
  /** Bytes of frames still arriving, all links together. */
  totalPartialBytes: number;
  /** Bytes waiting to be sent to one peer; a peer that stops reading beyond it is dropped (OVERLOADED). */
  outboundBytes: number;
  /**
   * Heap bytes one frame may decode to, estimated before it is decoded (a larger frame: 4x its
   * size); over it, BAD_FRAME. Raise it for learners that send megabytes of small objects.
   */
  maxDecodedBytes: number;
}

/** Largest WebSocket message a server takes, bytes (the CLI's, serveWebSocket's and the README's default). */
export const DEFAULT_MAX_PAYLOAD = 32 * 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  maxConnections: 2_000,
  upgradeTimeout: 5_000,
  helloBytes: 64 * 1024,
  linkPartialBytes: 64 * 1024 * 1024,
  linkPartialChunks: 1_024,
  totalPartialBytes: 512 * 1024 * 1024,
  outboundBytes: 64 * 1024 * 1024,
  maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES,
};

/** `limits` with every budget it leaves out at its default. */
export function serverLimits(limits: Partial<ServerLimits> = {}): ServerLimits {
  const d = DEFAULT_LIMITS;
  return {
    maxConnections: limits.maxConnections ?? d.maxConnections,
    upgradeTimeout: limits.upgradeTimeout ?? d.upgradeTimeout,
    helloBytes: limits.helloBytes ?? d.helloBytes,
    linkPartialBytes: limits.linkPartialBytes ?? d.linkPartialBytes,
    linkPartialChunks: limits.linkPartialChunks ?? d.linkPartialChunks,
    totalPartialBytes: limits.totalPartialBytes ?? d.totalPartialBytes,
    outboundBytes: limits.outboundBytes ?? d.outboundBytes,
    maxDecodedBytes: limits.maxDecodedBytes ?? d.maxDecodedBytes,
  };
}

/** The budgets of `limits` that every link of a server applies, with the one budget they share. */
export function linkLimits(limits: ServerLimits, partialBudget: ByteBudget): LinkLimits {
  const { helloBytes, linkPartialBytes, linkPartialChunks, outboundBytes, maxDecodedBytes } = limits;
  return { helloBytes, linkPartialBytes, linkPartialChunks, outboundBytes, maxDecodedBytes, partialBudget };
}

/** A link's own share of `ServerLimits` (see FramedLinkOptions). */
export interface LinkLimits {
  helloBytes?: number;
  linkPartialBytes?: number;
  linkPartialChunks?: number;
  outboundBytes?: number;
  /** Heap bytes a frame may decode to (the codec's limit, when the link makes its own codec). */
  maxDecodedBytes?: number;
  partialBudget?: ByteBudget;
}
