import { BROADCAST, type NodeId } from './envelope.js';
import { OiafedError } from './errors.js';

const VALID_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function isNodeId(value: unknown): value is NodeId {
  return typeof value === 'string' && value !== BROADCAST && VALID_ID.test(value);
}

export function assertNodeId(value: unknown, what = 'node id'): asserts value is NodeId {
  if (!isNodeId(value)) {
    throw new OiafedError(
      'INVALID_CONFIG',
      `${what} ${JSON.stringify(value)} is invalid: use 1-128 of A-Z a-z 0-9 . _ : @ -`,
    );
  }
}

/** A random id for a node the user did not name. */
export function randomNodeId(prefix = 'node'): NodeId {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
