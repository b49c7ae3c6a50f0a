// A Node trainer for browser learners: one http server serves the learner page (argv[2], built by
// Vite) and the federation's WebSocket at /fl. Prints the page's address, then the run's outcome.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { Federation, Node } from '@oiafed/core';
import { serveWebSocket } from '@oiafed/node';
import { EqualWeights } from './equal-weights.js';

const pageDir = process.argv[2] ?? 'dist-page';
const contentTypes: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

const http = createServer((req, res) => {
  const path = normalize(new URL(req.url ?? '/', 'http://page').pathname);
  const file = join(pageDir, path === '/' ? 'index.html' : path);
  readFile(file).then(
    (body) => res.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'text/plain' }).end(body),
    () => res.writeHead(404).end(),
  );
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

const trainer = new Node({ id: 'trainer', role: 'trainer' });
const server = await serveWebSocket(trainer, { server: http, path: '/fl', origins: [origin] });
console.log(JSON.stringify({ page: `${origin}/` }));

const federation = new Federation({
  node: trainer,
  strategy: new EqualWeights(),
  rounds: 2,
  minClients: 1,
  deadline: 30_000,
  config: { lr: 0.1, epochs: 10 },
});
const { weights, history } = await federation.start();
console.log(
  JSON.stringify({
    rounds: history.map((r) => ({ round: r.round, clients: r.clients, results: r.results })),
    weights: { w: weights.w?.data[0], b: weights.b?.data[0] },
  }),
);
await server.close();
trainer.close();
http.close();
