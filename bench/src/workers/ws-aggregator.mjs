// One aggregator of the hierarchy benchmark: serves its own learners over WebSocket (port chosen by
// the OS) and joins the root at argv[2] as a learner whose training is a round over them.
// argv: parentUrl id minClients interval. Prints "serving <url>", then "joined" once the root
// registered it; waits to be killed.
import { createFederation, resolveConfig } from '@oiafed/core';
import { joinParent, serveWebSocket } from '@oiafed/node';

const [parent, id, minClients, interval] = [
  process.argv[2],
  process.argv[3],
  Number(process.argv[4]),
  Number(process.argv[5]),
];
const config = resolveConfig({
  node: { id, role: 'aggregator', parent },
  heartbeat: { interval, timeout: interval * 3 },
  // As the flat trainer: no request timeout (the root's deadline, if any, is relayed).
  timeouts: { request: 0 },
  federation: { minClients },
  security: { maxConnections: minClients + 100 },
});
// Its learners join before the root starts its run: the first round finds them all.
const run = createFederation(config, { clientWait: 3_600_000 });
const server = await serveWebSocket(run.node, { port: 0, limits: config.security });
console.log(`serving ${server.url}`);
await joinParent(run, config);
process.on('SIGTERM', () => process.exit(0));
console.log('joined');
