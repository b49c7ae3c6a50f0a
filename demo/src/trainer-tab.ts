import { servePeerSignalling } from '@oiafed/node';
import { servePage } from './page-server.js';
import type { DemoOptions } from './simulate.js';

/**
 * The browser-to-browser setup: no trainer in this process, only the introductions. Starts a PeerJS
 * signalling server and the demo's pages, prints a link for the trainer tab and one per learner
 * tab, and serves until Ctrl-C.
 */
export async function serveTrainerTab(options: DemoOptions): Promise<void> {
  const signalling = await servePeerSignalling({ port: options.port ?? 9000 });
  const url = `http://${signalling.host}:${signalling.port}${signalling.path}`;
  const page = await servePage();
  const common = {
    signalling: url,
    seed: String(options.seed),
    trainSize: String(options.trainSize),
    testSize: String(options.testSize),
  };
  const trainer = new URLSearchParams({
    ...common,
    id: 'tab-trainer',
    clients: String(options.clients),
    rounds: String(options.rounds),
    epochs: String(options.epochs),
    batchSize: String(options.batchSize),
    lr: String(options.lr),
    ...(options.heartbeat ? { heartbeat: String(options.heartbeat) } : {}),
  });
  console.log(
    `signalling server on ${url}; open the trainer tab, then the ${options.clients} learner tabs (Ctrl-C to stop):`,
  );
  console.log(`  trainer:   ${page}/trainer.html?${trainer}`);
  for (let shard = 0; shard < options.clients; shard++) {
    const learner = new URLSearchParams({
      ...common,
      transport: 'webrtc',
      trainer: 'tab-trainer',
      shard: String(shard),
      of: String(options.clients),
      split: options.split,
      ...(options.heartbeat ? { heartbeat: String(options.heartbeat) } : {}),
    });
    console.log(`  learner ${shard}: ${page}/learner.html?${learner}`);
  }
  await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
  await signalling.close();
}
