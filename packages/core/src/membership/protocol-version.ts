import { PROTOCOL_VERSION } from '../wire/envelope.js';

/**
 * Why a peer that speaks `version` cannot be talked to, or undefined when it speaks ours. Both
 * sides of a handshake ask: the node joined (of the hello) and the joiner (of the welcome).
 */
export function versionMismatch(version: unknown): string | undefined {
  if (version === PROTOCOL_VERSION) return undefined;
  return `protocol version ${String(version)} is not supported; this node speaks ${PROTOCOL_VERSION}`;
}
