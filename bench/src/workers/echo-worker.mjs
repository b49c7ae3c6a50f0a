// The worker side of the `worker` suite, in plain JavaScript (worker threads run without tsx):
// the same echo service three ways: raw postMessage, our RPC, comlink.
import { parentPort, workerData } from 'node:worker_threads';
import { Node, transfer } from '@oiafed/core';
import { PortLink } from '@oiafed/core/internal';
import { nodePortEndpoint } from '@oiafed/node';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

const service = {
  add: (a, b) => a + b,
  echo: (values) => transfer(values, [values.buffer]),
};

if (workerData.mode === 'raw') {
  parentPort.on('message', (message) =>
    parentPort.postMessage(message, message.values ? [message.values.buffer] : []),
  );
} else if (workerData.mode === 'ours') {
  const node = new Node({ id: 'worker', role: 'learner', heartbeat: false });
  node.serve(service);
  await node.connect(new PortLink(nodePortEndpoint(parentPort), { encoding: workerData.encoding }));
} else {
  Comlink.expose(
    { add: service.add, echo: (values) => Comlink.transfer(values, [values.buffer]) },
    nodeEndpoint(parentPort),
  );
}
