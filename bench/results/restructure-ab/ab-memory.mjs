// A/B in one process: the memory-mode call of the tree before #12 (BEFORE, built) and of the tree
// after it (AFTER, built), with birpc as the shared baseline, samples interleaved (before, after, birpc,
// ...; REVERSE=1 puts after first), so the noise falls on all three alike. node ab-memory.mjs
import { resolve } from 'node:path';
const BEFORE = resolve(process.env.BEFORE ?? '/work/wt-before');
const AFTER = resolve(process.env.AFTER ?? '/work/wt-bench12');
const { createBirpc } = await import(AFTER + '/bench/node_modules/birpc/dist/index.mjs');
const before = await import(BEFORE + '/packages/core/dist/index.js');
const after = await import(AFTER + '/packages/core/dist/index.js');

async function pair(lib) {
  const trainer = new lib.Node({ id: 'trainer' });
  const learner = new lib.Node({ id: 'learner' });
  await lib.joinInMemory(trainer, learner);
  learner.serve({ add: (a, b) => a + b });
  return { proxy: trainer.proxy('learner'), trainer, learner };
}
function microtaskChannel() {
  let toA = () => undefined, toB = () => undefined;
  return {
    a: { post: (d) => queueMicrotask(() => toB(d)), on: (fn) => void (toA = fn) },
    b: { post: (d) => queueMicrotask(() => toA(d)), on: (fn) => void (toB = fn) },
  };
}
const b = await pair(before), a = await pair(after);
const ch = microtaskChannel();
createBirpc({ add: (x, y) => x + y }, ch.b);
const birpc = createBirpc({}, ch.a);
const ops = { before: () => b.proxy.add(1, 2), after: () => a.proxy.add(1, 2), birpc: () => birpc.add(1, 2) };
const batch = Number(process.env.BATCH ?? 20000), samples = Number(process.env.SAMPLES ?? 41);
const times = { before: [], after: [], birpc: [] };
const names = process.env.REVERSE ? ['after', 'before', 'birpc'] : ['before', 'after', 'birpc'];
for (let round = -3; round < samples; round++) {
  for (const n of names) {
    const op = ops[n];
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await op();
    if (round >= 0) times[n].push(Number(process.hrtime.bigint() - t) / batch);
  }
}
const med = (v) => { const s = [...v].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ratios = (x, y) => x.map((v, i) => v / y[i]);
const q = (v, p) => { const s = [...v].sort((x, y) => x - y); return s[Math.floor(p * (s.length - 1))]; };
const out = {};
for (const [k, v] of Object.entries({ beforeVsBirpc: ratios(times.before, times.birpc), afterVsBirpc: ratios(times.after, times.birpc), afterVsBefore: ratios(times.after, times.before) }))
  out[k] = { median: med(v), q25: q(v, 0.25), q75: q(v, 0.75), min: Math.min(...v), max: Math.max(...v) };
out.ns = { before: med(times.before), after: med(times.after), birpc: med(times.birpc) };
out.order = names; out.batch = batch; out.samples = samples;
console.log(JSON.stringify(out));
for (const p of [a, b]) { p.trainer.close(); p.learner.close(); }
