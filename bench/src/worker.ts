import { Worker } from 'node:worker_threads';
import { Node, transfer } from '@oiafed/core';
import { PortLink, type PortEncoding } from '@oiafed/core/internal';
import { nodePortEndpoint } from '@oiafed/node';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { interleaved, writeSuite, type BenchResult } from './harness.js';

interface Echo {
  add(a: number, b: number): number;
  echo(values: Float32Array): Float32Array;
}

const FLOATS = 4 * 1024 * 1024; // 16 MiB
const workerUrl = new URL('./workers/echo-worker.mjs', import.meta.url);
const start = (workerData: object) => new Worker(workerUrl, { workerData });

async function raw() {
  const worker = start({ mode: 'raw' });
  let resolve: (m: { values?: Float32Array }) => void = () => undefined;
  worker.on('message', (m: { values?: Float32Array }) => resolve(m));
  const roundTrip = (message: object, transferList: ArrayBuffer[] = []) =>
    new Promise<{ values?: Float32Array }>((r) => {
      resolve = r;
      worker.postMessage(message, transferList);
    });
  let values: Float32Array = new Float32Array(FLOATS);
  return {
    small: () => roundTrip({ a: 1, b: 2 }),
    big: async () => {
      values = (await roundTrip({ values }, [values.buffer as ArrayBuffer])).values!;
    },
    close: () => worker.terminate(),
  };
}

async function ours(encoding: PortEncoding) {
  const worker = start({ mode: 'ours', encoding });
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  const registered = new Promise((r) => trainer.events.once('CLIENT_REGISTERED', r));
  trainer.accept(new PortLink(nodePortEndpoint(worker), { encoding }));
  await registered;
  const echo = trainer.proxy<Echo>('worker');
  let values: Float32Array = new Float32Array(FLOATS);
  return {
    small: () => echo.add(1, 2),
    big: async () => {
      values = await echo.echo(transfer(values, [values.buffer as ArrayBuffer]));
    },
    close: async () => {
      trainer.close();
      await worker.terminate();
    },
  };
}

async function comlink() {
  const worker = start({ mode: 'comlink' });
  const remote = Comlink.wrap<Echo>(nodeEndpoint(worker));
  let values: Float32Array = new Float32Array(FLOATS);
  return {
    small: () => remote.add(1, 2),
    big: async () => {
      values = await remote.echo(Comlink.transfer(values, [values.buffer as ArrayBuffer]));
    },
    close: () => worker.terminate(),
  };
}

export async function workerSuite(quick: boolean): Promise<void> {
  const contenders = {
    raw: await raw(),
    clone: await ours('clone'),
    msgpack: await ours('msgpack'),
    comlink: await comlink(),
  };
  const small = await interleaved(
    {
      raw: contenders.raw.small,
      clone: contenders.clone.small,
      msgpack: contenders.msgpack.small,
      comlink: contenders.comlink.small,
    },
    { batch: quick ? 500 : 2_000, samples: quick ? 7 : 41, warmup: 3 },
  );
  // Transfers take tens of microseconds: many per sample, past the JIT's warm-up.
  const big = await interleaved(
    { raw: contenders.raw.big, clone: contenders.clone.big, comlink: contenders.comlink.big },
    { batch: quick ? 50 : 200, samples: quick ? 5 : 41, warmup: 5 },
  );
  // msgpack copies 16 MiB each way (tens of milliseconds): a few samples tell the story.
  Object.assign(
    big,
    await interleaved({ msgpack: contenders.msgpack.big }, { batch: 3, samples: quick ? 3 : 5, warmup: 1 }),
  );
  await Promise.all(Object.values(contenders).map((c) => c.close()));

  const us = (ns: number) => ns / 1000;
  const ms = (ns: number) => ns / 1e6;
  const r = (a: number, b: number) => a / b;
  const results: BenchResult[] = [
    {
      id: 'raw.postMessage.small',
      median: us(small.raw!.median),
      unit: 'us',
      samples: small.raw!.samples,
      note: 'worker_threads round trip of a small object',
    },
    {
      id: 'worker.call.small',
      median: us(small.clone!.median),
      unit: 'us',
      ratio: r(small.clone!.median, small.raw!.median),
      vs: 'raw.postMessage.small',
      target: 'ratio <= 1.3',
      met: small.clone!.median / small.raw!.median <= 1.3,
      samples: small.clone!.samples,
      note: 'frames as structured clones (the default)',
    },
    {
      id: 'worker.call.small.msgpack',
      median: us(small.msgpack!.median),
      unit: 'us',
      ratio: r(small.msgpack!.median, small.raw!.median),
      vs: 'raw.postMessage.small',
      note: 'same, frames as msgpack bytes instead of structured clones',
    },
    {
      id: 'comlink.call.small',
      median: us(small.comlink!.median),
      unit: 'us',
      ratio: r(small.comlink!.median, small.raw!.median),
      vs: 'raw.postMessage.small',
    },
    {
      id: 'worker.call.small.vs.comlink',
      median: us(small.clone!.median),
      unit: 'us',
      ratio: r(small.clone!.median, small.comlink!.median),
      vs: 'comlink.call.small',
      target: 'ratio <= 1.0',
      met: small.clone!.median <= small.comlink!.median,
    },
    {
      id: 'raw.transfer16m',
      median: ms(big.raw!.median),
      unit: 'ms',
      samples: big.raw!.samples,
      note: '16 MiB Float32Array to the worker and back, transferred',
    },
    {
      id: 'worker.weights16m',
      median: ms(big.clone!.median),
      unit: 'ms',
      ratio: r(big.clone!.median, big.raw!.median),
      vs: 'raw.transfer16m',
      target: 'ratio <= 1.5',
      met: big.clone!.median / big.raw!.median <= 1.5,
      samples: big.clone!.samples,
      note: 'structured clone, the weights transferred',
    },
    {
      id: 'worker.weights16m.msgpack',
      median: ms(big.msgpack!.median),
      unit: 'ms',
      ratio: r(big.msgpack!.median, big.raw!.median),
      vs: 'raw.transfer16m',
      note: 'msgpack frames: encoded (a copy), the bytes transferred',
    },
    {
      id: 'comlink.weights16m',
      median: ms(big.comlink!.median),
      unit: 'ms',
      ratio: r(big.comlink!.median, big.raw!.median),
      vs: 'raw.transfer16m',
      note: 'with Comlink.transfer',
    },
    {
      id: 'worker.weights16m.vs.comlink',
      median: ms(big.clone!.median),
      unit: 'ms',
      ratio: r(big.clone!.median, big.comlink!.median),
      vs: 'comlink.weights16m',
      target: 'ratio <= 1.0',
      met: big.clone!.median <= big.comlink!.median,
    },
  ];
  writeSuite('worker', results, [
    'Node worker_threads, one worker per contender, samples interleaved. Ours: trainer.proxy(worker).add(1, 2) and .echo(transfer(weights)) over PortLink.',
    `Encoding, small call: msgpack ${us(small.msgpack!.median).toFixed(1)} us, clone ${us(small.clone!.median).toFixed(1)} us; 16 MiB: msgpack ${ms(big.msgpack!.median).toFixed(2)} ms, clone+transfer ${ms(big.clone!.median).toFixed(3)} ms. PortLink keeps clone as its default.`,
  ]);
}
