/**
 * How long opening a link may take, ms: a WebSocket's open, a peer's registration with its
 * signalling server, a node's hello and welcome (`timeouts.connect` in the run config).
 */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
