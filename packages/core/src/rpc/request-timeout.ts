/**
 * How long a call waits for its answer by default, ms (`timeouts.request` in the run config).
 *
 * Two minutes, not the 30 s an RPC library would pick: the longest call the SDK makes on its own is
 * a trainer asking a learner to train, and a round on a slow tab takes longer than 30 s. A dead
 * peer is not what this bound is for: the heartbeat (90 s by default) closes its link and rejects
 * its calls sooner; this bounds a live peer that never answers.
 */
export const DEFAULT_REQUEST_TIMEOUT = 120_000;

/**
 * A learner's calls to its trainer wait as long as their link lives (0: no timeout): the trainer
 * may be busy aggregating thousands of results, and if the link dies the heartbeat ends them.
 */
export const LEARNER_REQUEST_TIMEOUT = 0;
