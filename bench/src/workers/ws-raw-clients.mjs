// Opens N plain ws connections to argv[2], echoing what the server sends; prints "ready" once all
// are open, then waits to be killed: the raw-ws baseline for what a connection costs the server.
import WebSocket from 'ws';

const [url, count] = [process.argv[2], Number(process.argv[3])];
const open = () =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.on('open', resolve);
    socket.on('error', reject);
    socket.on('message', (data) => socket.send(data));
  });
for (let i = 0; i < count; i += 25) {
  await Promise.all(Array.from({ length: Math.min(25, count - i) }, () => open()));
}
process.on('SIGTERM', () => process.exit(0));
console.log('ready');
