/**
 * How long opening a link may take, ms: a WebSocket's open, a peer's registration with its
 * signalling server, a node's hello and welcome (`timeouts.connect` in the run config).
 */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;

/**
 * How long a data channel to a peer may take to open, ms: longer than a WebSocket's open, since
 * ICE may try several candidate pairs (and a TURN relay) before one works.
 */
export const DEFAULT_DATA_CHANNEL_TIMEOUT = 15_000;

/**
 * How long a learner's first join may take, ms, all attempts together: after it the join fails
 * (status 'failed') with the last attempt's cause, rather than waiting without a word for a
 * trainer that is not there. Infinity waits for ever (until `close()` or `retry.maxAttempts`).
 */
export const DEFAULT_JOIN_TIMEOUT = 30_000;
