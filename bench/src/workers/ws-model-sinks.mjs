// For ws.broadcast16m: N learner nodes joined to the trainer at argv[2] over their own WebSockets,
// and N plain ws clients of the raw server at argv[3]. Each learner acknowledges the 'model' event;
// each raw client answers one byte once `argv[5]` bytes have come. Neither keeps what it received:
// the learners' incoming models all land in one scratch buffer (`allocate`), so that 1,000 copies
// of 16 MiB need not exist at once here. Prints "ready" once all are connected.
import { Node } from '@oiafed/core';
import { connectWebSocket } from '@oiafed/core/internal';
import { Buffer } from 'node:buffer';
import WebSocket from 'ws';

const [ours, raw, count, bytes] = [
  process.argv[2],
  process.argv[3],
  Number(process.argv[4]),
  Number(process.argv[5]),
];
const scratch = new Uint8Array(bytes + 1024);
const allocate = (n) => (n <= scratch.byteLength ? scratch.subarray(0, n) : new Uint8Array(n));

async function learner(i) {
  const node = new Node({ id: `sink-${i}`, role: 'learner', heartbeat: false, timeout: 0 });
  node.on('model', () => undefined);
  // No watchProgress: like a browser, this end takes messages up to the chunk size, so the model
  // arrives as 1 MiB messages, as the raw clients get it.
  await node.connect(await connectWebSocket(ours, { WebSocket, allocate }));
}

function rawClient() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(raw, { perMessageDeflate: false });
    let got = 0;
    socket.on('message', (data) => {
      got += data.length;
      if (got >= bytes) {
        got -= bytes;
        socket.send(Buffer.from([1]));
      }
    });
    socket.once('open', resolve);
    socket.once('error', reject);
  });
}

for (let i = 0; i < count; i += 25) {
  const n = Math.min(25, count - i);
  await Promise.all(Array.from({ length: n }, (_, k) => learner(i + k)));
  await Promise.all(Array.from({ length: n }, () => rawClient()));
}
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
