// Opens N plain ws connections to argv[2], answering each ping frame of ours (a message of one byte 9)
// with a pong; prints "ready" once all are open, then waits to be killed: the raw-ws baseline for
// what a connection costs the server.
import WebSocket from 'ws';

const [url, count] = [process.argv[2], Number(process.argv[3])];
const open = (i) =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.on('open', resolve);
    socket.on('error', reject);
    socket.on('message', (data) => socket.send(data));
    return i;
  });
for (let i = 0; i < count; i += 25) {
  await Promise.all(Array.from({ length: Math.min(25, count - i) }, (_, k) => open(i + k)));
}
console.log('ready');
