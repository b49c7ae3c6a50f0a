// The root (or flat trainer) of the hierarchy benchmark, in a process of its own so its memory is
// its own: serves on a port chosen by the OS, prints "serving <url>"; on the line "start" on stdin
// (everyone has joined) runs `rounds` FedAvg rounds over the `minClients` members it has and prints
// "result <json>": round times, its heap before anyone joined and after, its peak heap during the
// rounds, and its peak RSS over its life. argv: minClients rounds interval. Run with --expose-gc.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { getHeapStatistics } from 'node:v8';
import { Federation, Node } from '@oiafed/core';
import { serveWebSocket } from '@oiafed/node';

const [minClients, rounds, interval] = process.argv.slice(2, 5).map(Number);
// The kernel's high-water mark of this process's resident memory since its exec (getrusage's
// maxRSS would carry the spawning process's over the exec).
const peakRss = () => {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) * 1024 : process.memoryUsage.rss();
};
const live = () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const root = new Node({
  id: 'root',
  role: 'trainer',
  heartbeat: { interval, timeout: interval * 3 },
  timeout: 0,
});
const server = await serveWebSocket(root, { port: 0, limits: { maxConnections: minClients + 100 } });
const before = live();
let missed = 0;
root.events.on('CLIENT_DISCONNECTED', () => missed++);
console.log(`serving ${server.url}`);
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'start') break;
const joined = live();
const members = root.registry.connected().length;
const federation = new Federation({
  node: root,
  rounds,
  minClients,
  initialWeights: { w: { shape: [10], data: new Float32Array(10) } },
});
// The heap peaks while a round's results are held: sampled at each one (a cheap V8 call, no /proc read).
let peakHeap = 0;
const sample = () => (peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size));
federation.events.on('CLIENT_RESULT', sample);
const roundMs = [];
const numExamples = [];
federation.events.on('ROUND_FINISHED', (s) => {
  sample();
  if (s.results !== minClients) throw new Error(`round had ${s.results} of ${minClients} results`);
  roundMs.push(s.timings.totalMs);
  numExamples.push(s.numExamples);
});
await federation.start();
const result = {
  members,
  roundMs,
  numExamples,
  heapBefore: before,
  heapJoined: joined,
  peakHeap,
  maxRss: peakRss(),
  missed,
};
console.log(`result ${JSON.stringify(result)}`);
lines.close();
await server.close();
root.close();
process.exit(0);
