// A/B in one process: trainer.call(learner, add) over our WebSocket link, the core before #12 (BEFORE,
// built) and after it (AFTER, built), with raw ws (3 bytes echoed) as the shared baseline, samples interleaved.
import { resolve } from 'node:path';
const BEFORE = resolve(process.env.BEFORE ?? '/work/wt-before');
const AFTER = resolve(process.env.AFTER ?? '/work/wt-bench12');
const nm = AFTER + '/bench/node_modules';
const { default: WebSocket, WebSocketServer } = await import(`${nm}/ws/wrapper.mjs`);
const trees = {
  before: { core: BEFORE + '/packages/core/dist/index.js', link: BEFORE + '/packages/core/dist/index.js', node: BEFORE + '/packages/node/dist/index.js', serve: (s, n) => s({ node: n, port: 0 }) },
  after: { core: AFTER + '/packages/core/dist/index.js', link: AFTER + '/packages/core/dist/internal.js', node: AFTER + '/packages/node/dist/index.js', serve: (s, n) => s(n, { port: 0 }) },
};
async function ours(t) {
  const { Node } = await import(t.core);
  const { connectWebSocket } = await import(t.link);
  const { serveWebSocket } = await import(t.node);
  const trainer = new Node({ id: 'trainer', role: 'trainer', timeout: 0 });
  const server = await t.serve(serveWebSocket, trainer);
  const learner = new Node({ id: 'learner', role: 'learner', timeout: 0 });
  learner.handle('add', (a, b) => a + b);
  await learner.connect(await connectWebSocket(server.url, { WebSocket }));
  return { small: () => trainer.call('learner', 'add', [1, 2]), close: async () => { learner.close(); trainer.close(); await server.close(); } };
}
async function raw() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const connected = new Promise((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
  client.on('message', (data) => client.send(data));
  const server = await connected;
  let resolve = () => undefined;
  server.on('message', () => resolve());
  const small = Buffer.from([1, 2, 3]);
  return { small: () => new Promise((r) => { resolve = r; server.send(small); }), close: () => (client.close(), new Promise((r) => wss.close(r))) };
}
const c = { raw: await raw(), before: await ours(trees.before), after: await ours(trees.after) };
const batch = Number(process.env.BATCH ?? 2000), samples = Number(process.env.SAMPLES ?? 41);
const names = process.env.REVERSE ? ['after', 'before', 'raw'] : ['before', 'after', 'raw'];
const times = { before: [], after: [], raw: [] };
for (let round = -3; round < samples; round++) for (const n of names) {
  const op = c[n].small; const t = process.hrtime.bigint();
  for (let i = 0; i < batch; i++) await op();
  if (round >= 0) times[n].push(Number(process.hrtime.bigint() - t) / batch);
}
const med = (v) => { const s = [...v].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const q = (v, p) => [...v].sort((x, y) => x - y)[Math.floor(p * (v.length - 1))];
const ratios = (x, y) => x.map((v, i) => v / y[i]);
const out = {};
for (const [k, v] of Object.entries({ beforeVsRaw: ratios(times.before, times.raw), afterVsRaw: ratios(times.after, times.raw), afterVsBefore: ratios(times.after, times.before) }))
  out[k] = { median: med(v), q25: q(v, 0.25), q75: q(v, 0.75), min: Math.min(...v), max: Math.max(...v) };
out.ns = { before: med(times.before), after: med(times.after), raw: med(times.raw) };
out.order = names; out.batch = batch; out.samples = samples;
console.log(JSON.stringify(out));
await Promise.all(Object.values(c).map((x) => x.close()));
process.exit(0);
