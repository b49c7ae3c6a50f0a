// For ws.broadcast16m: N learner nodes (ids from argv[6] on) joined to the trainer at argv[2] over
// their own WebSockets, and N plain WebSocket clients of the raw server at argv[3], all of them
// LeanWebSocket (see there why not ws's client). Each learner acknowledges the 'model' event; each
// raw client answers one byte once `argv[5]` bytes have come. Neither keeps what it received: the
// learners' incoming models all land in one scratch buffer (`allocate`), so that 1,000 copies of
// 16 MiB need not exist at once here. Prints "ready" once all are connected.
import { Node } from '@oiafed/core';
import { connectWebSocket } from '@oiafed/core/internal';
import { Buffer } from 'node:buffer';
import { LeanWebSocket } from './lean-web-socket.mjs';

const [ours, raw, count, bytes, first] = [
  process.argv[2],
  process.argv[3],
  Number(process.argv[4]),
  Number(process.argv[5]),
  Number(process.argv[6] ?? 0),
];
const scratch = new Uint8Array(bytes + 1024);
const allocate = (n) => (n <= scratch.byteLength ? scratch.subarray(0, n) : new Uint8Array(n));

async function learner(i) {
  const node = new Node({ id: `sink-${i}`, role: 'learner', heartbeat: false, timeout: 0 });
  // Every learner gets the same model, so the shared scratch holds it whole once the last byte is
  // in: a spot check that the learner decoded the real thing, not just any message.
  node.on('model', ({ w }) => {
    const floats = bytes / 4;
    for (let k = 0; k < 16; k++) {
      const at = Math.floor(((floats - 1) * k) / 15);
      if (w.data.length !== floats || w.data[at] !== at % 251) throw new Error(`model differs at ${at}`);
    }
  });
  // No watchProgress: like a browser, this end takes messages up to the chunk size, so the model
  // arrives as 1 MiB messages, as the raw clients get it.
  await node.connect(await connectWebSocket(ours, { WebSocket: LeanWebSocket, allocate }));
}

function rawClient() {
  return new Promise((resolve, reject) => {
    const socket = new LeanWebSocket(raw);
    let got = 0;
    socket.addEventListener('message', ({ data }) => {
      // Put in place, as a learner must to have the model whole (oiafed's learners do it into their
      // scratch buffer): the same work per byte on both sides, so the two sinks take the same
      // share of the machine's CPU from the trainer.
      if (got + data.byteLength <= scratch.byteLength) scratch.set(data, got);
      got += data.byteLength;
      if (got >= bytes) {
        got -= bytes;
        socket.send(Buffer.from([1]));
      }
    });
    socket.addEventListener('open', resolve);
    socket.addEventListener('error', ({ error }) => reject(error));
  });
}

for (let i = 0; i < count; i += 25) {
  const n = Math.min(25, count - i);
  await Promise.all(Array.from({ length: n }, (_, k) => learner(first + i + k)));
  await Promise.all(Array.from({ length: n }, () => rawClient()));
}
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
console.log('ready');
