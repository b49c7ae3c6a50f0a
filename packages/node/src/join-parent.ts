import {
  rehoming,
  serveAggregator,
  type Aggregator,
  type Federation,
  type Node,
  type RunConfig,
} from '@oiafed/core';
import { connectWebSocket } from '@oiafed/core/internal';
import WebSocket from 'isomorphic-ws';
import { allocateUnzeroed } from './allocate-unzeroed.js';
import { limitWsMessages, watchWsProgress, WS_CLIENT_MAX_PAYLOAD } from './ws-progress.js';

/**
 * Makes the run of an aggregator's config (`node.role: aggregator`) a level of its hierarchy: joins
 * its parent (`node.parent`, each URL in turn: the first its home, the others where it re-homes)
 * over WebSocket as a learner whose training is a round of `run.federation`. Waits for the parent
 * as long as it takes (a server started before its parent is not an error), reconnects forever.
 */
export function joinParent(
  run: { node: Node; federation: Federation },
  config: RunConfig,
): Promise<Aggregator> {
  const { parent, parentToken, parentMaxExamples, id } = config.node;
  if (parent === undefined || parent.length === 0)
    throw new TypeError(
      'joinParent: the config names no node.parent (resolveConfig checks an aggregator has one)',
    );
  // Like joinFederation's: the aggregator hears its model arrive, and takes only a hello's worth before its welcome.
  const link = {
    WebSocket,
    allocate: allocateUnzeroed,
    watchProgress: watchWsProgress,
    limitIncoming: limitWsMessages,
    maxMessageSize: WS_CLIENT_MAX_PAYLOAD,
  };
  return serveAggregator({
    node: run.node,
    federation: run.federation,
    connect: rehoming(parent.map((url) => () => connectWebSocket(url, link))),
    id,
    heartbeat: config.heartbeat,
    joinTimeout: Infinity,
    ...(parentToken === undefined ? {} : { token: parentToken }),
    ...(parentMaxExamples === undefined ? {} : { parentMaxExamples }),
  });
}
