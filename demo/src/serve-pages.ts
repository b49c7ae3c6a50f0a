// `npm run pages`: serves the demo's web pages (Vite) and says which is which, until Ctrl-C.
import { servePage } from './page-server.js';

const port = Number(process.env.PORT ?? 5173);
const base = await servePage(port);
console.log(`the demo's pages on ${base} (Ctrl-C to stop):`);
console.log(
  `  ${base}/simulate.html  a whole federation in this tab (10 to 1,000 learners, memory or Web Workers)`,
);
console.log(
  `  ${base}/learner.html   a learner tab for a trainer served by npm run demo -- --mode websocket --page`,
);
console.log(
  `  ${base}/trainer.html   a trainer tab for learner tabs over WebRTC (npm run demo -- --mode webrtc --trainer-tab)`,
);
