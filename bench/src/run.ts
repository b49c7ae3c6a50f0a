import { compressSuite } from './compress.js';
import { decodeScanSuite } from './decode-scan.js';
import { federationSuite } from './federation.js';
import { fedbuffSuite } from './fedbuff-vs-sync.js';
import { memorySuite } from './memory.js';
import { privacyDemoSuite } from './privacy-demo.js';
import { privacySuite } from './privacy.js';
import { scaleSuite } from './scale.js';
import { strategiesSuite } from './strategies.js';
import { websocketSuite } from './websocket.js';
import { webrtcSuite } from './webrtc.js';
import { workerSuite } from './worker.js';

const suites: Record<string, (quick: boolean) => Promise<void>> = {
  memory: memorySuite,
  federation: federationSuite,
  strategies: strategiesSuite,
  worker: workerSuite,
  websocket: websocketSuite,
  'decode-scan': decodeScanSuite,
  webrtc: webrtcSuite,
  fedbuff: fedbuffSuite,
  privacy: privacySuite,
  // The scale figures, then the compress.* ones.
  scale: async (quick) => {
    await scaleSuite(quick);
    await compressSuite(quick);
  },
  // Also run by suite privacy, after its own rows: named on its own, it runs alone.
  'privacy-demo': privacyDemoSuite,
  // Also run by suite scale, after its own rows: named on its own, it runs alone.
  compress: compressSuite,
};

/** Suites that another suite already runs: every suite at once runs them once. */
const RUN_BY_ANOTHER = new Set(['privacy-demo', 'compress']);

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
for (const name of wanted.length ? wanted : Object.keys(suites).filter((n) => !RUN_BY_ANOTHER.has(n))) {
  const suite = suites[name];
  if (!suite) throw new Error(`unknown suite ${name}; known: ${Object.keys(suites).join(', ')}`);
  await suite(quick);
}
// Everything is closed, but node-datachannel's native threads (webrtc suite) keep a process alive
// while a browser still holds its side of a connection: the run ends here, as the demo does.
process.exit(0);
