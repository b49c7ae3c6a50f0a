import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Node } from '@oiafed/core';
import { connectPeer, type DataConnectionLike, type PeerLike } from '@oiafed/core/internal';
import { createPeer, servePeerSignalling, serveWebRtc, type SignallingServer } from '@oiafed/node';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../../e2e/chromium.js';
import { nextEvent } from '../../packages/core/src/test-support.js';
import { interleaved, writeSuite, type BenchResult, type Sampled } from './harness.js';
import { rawEchoAndAck } from './raw-echo.js';

const BYTES = 16 * 1024 * 1024;
const RAW_CHUNK = 256 * 1024 - 64;

/** A raw data connection from our side, and how to time a small echo and a 16 MiB send on it. */
function rawOps(
  connection: DataConnectionLike,
  payload: Uint8Array,
): { small: () => Promise<void>; send16m: () => Promise<void> } {
  let settle: () => void = () => undefined;
  connection.on('data', () => settle());
  const channel = connection.dataChannel!;
  return {
    small: () =>
      new Promise<void>((resolve) => {
        settle = resolve;
        connection.send(new Uint8Array([1, 2, 3]));
      }),
    // Chunked to the SCTP limit and paced by bufferedamountlow, as any sender must be; then an ack.
    send16m: () =>
      new Promise<void>((resolve) => {
        settle = resolve;
        let at = 0;
        const pump = () => {
          while (at < BYTES) {
            connection.send(payload.subarray(at, Math.min(BYTES, at + RAW_CHUNK)));
            at += RAW_CHUNK;
            if (channel.bufferedAmount > 4 * 1024 * 1024) {
              channel.bufferedAmountLowThreshold = 2 * 1024 * 1024;
              channel.addEventListener('bufferedamountlow', pump, { once: true });
              return;
            }
          }
        };
        pump();
      }),
  };
}

interface PairFigures {
  small: Record<string, Sampled>;
  send: Record<string, Sampled>;
}

/** Small round trips and 16 MiB sends, ours and raw, interleaved. */
async function measure(
  ours: { small: () => Promise<unknown>; send16m: () => Promise<unknown> },
  raw: { small: () => Promise<void>; send16m: () => Promise<void> },
  quick: boolean,
): Promise<PairFigures> {
  const small = await interleaved(
    { raw: raw.small, ours: ours.small },
    { batch: quick ? 200 : 1_000, samples: quick ? 5 : 21, warmup: 2 },
  );
  const send = await interleaved(
    { raw: raw.send16m, ours: ours.send16m },
    { batch: quick ? 1 : 3, samples: quick ? 3 : 9, warmup: 1 },
  );
  return { small, send };
}

/** Node to Node: a trainer and a learner node, and two raw peers, all in this process. */
async function nodeToNode(
  signalling: SignallingServer,
  payload: Uint8Array,
  quick: boolean,
): Promise<PairFigures> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', timeout: 0 });
  trainer.handle('upload', (w: Uint8Array) => w.length);
  const trainerPeer = await serveWebRtc(trainer, { signalling });
  const learner = new Node({ id: 'learner', role: 'learner', timeout: 0 });
  learner.handle('add', (a: number, b: number) => a + b);
  const learnerPeer = await createPeer('learner', { signalling });
  await learner.connect(await connectPeer(learnerPeer, 'trainer'));
  const a = await createPeer('raw-a', { signalling });
  const b = await createPeer('raw-b', { signalling });
  b.on('connection', (c) => rawEchoAndAck(c, BYTES));
  const raw = rawOps(await connectRaw(a, 'raw-b'), payload);
  try {
    return await measure(
      {
        small: () => trainer.call('learner', 'add', [1, 2]),
        send16m: () => learner.call('trainer', 'upload', [payload]),
      },
      raw,
      quick,
    );
  } finally {
    learner.close();
    trainer.close();
    for (const p of [trainerPeer, learnerPeer, a, b]) p.destroy();
  }
}

/** Node to Chromium: the trainer here, the learner node and the raw far end in a tab (browser/webrtc-tab.ts). */
async function nodeToChromium(
  signalling: SignallingServer,
  payload: Uint8Array,
  quick: boolean,
): Promise<PairFigures> {
  // Not 'trainer': the signalling server may not have seen the first trainer's peer leave yet.
  const trainer = new Node({ id: 'tab-trainer', role: 'trainer', timeout: 0 });
  const trainerPeer = await serveWebRtc(trainer, { signalling });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  const raw = await createPeer('raw-node', { signalling });
  let pages: Server | undefined;
  try {
    const page = await browser.newPage();
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    const script = await bundle(new URL('./browser/webrtc-tab.ts', import.meta.url));
    // A real loopback origin, as the demo's pages have (a routed one lost its signalling socket).
    pages = createServer((req, res) => {
      res.setHeader('content-type', req.url === '/tab.js' ? 'text/javascript' : 'text/html');
      res.end(
        req.url === '/tab.js' ? script : '<!doctype html><script type="module" src="/tab.js"></script>',
      );
    });
    await new Promise<void>((resolve) => pages!.listen(0, '127.0.0.1', resolve));
    await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'startBenchPeers' in globalThis, undefined, { polling: 'raf' });
    const joined = nextEvent(trainer.events, 'CLIENT_REGISTERED', 30_000).catch(() => {
      throw new Error(`the tab did not join${failures.length ? `: ${failures.join('; ')}` : ''}`);
    });
    await Promise.all([
      joined,
      page.evaluate(
        ([url, bytes]) =>
          (
            globalThis as unknown as { startBenchPeers(s: string, t: string, b: number): Promise<void> }
          ).startBenchPeers(url, 'tab-trainer', bytes),
        [`http://${signalling.host}:${signalling.port}/`, BYTES] as const,
      ),
    ]);
    const rawOnes = rawOps(await connectRaw(raw, 'tab-raw'), payload);
    return await measure(
      {
        small: () => trainer.call('tab-learner', 'add', [1, 2]),
        send16m: () => trainer.call('tab-learner', 'take', [payload]),
      },
      rawOnes,
      quick,
    );
  } finally {
    await browser.close();
    pages?.close();
    raw.destroy();
    trainerPeer.destroy();
    trainer.close();
  }
}

function connectRaw(from: PeerLike, to: string): Promise<DataConnectionLike> {
  return new Promise((resolve) => {
    const c = from.connect(to, { serialization: 'raw', reliable: true });
    c.on('open', () => resolve(c));
  });
}

async function bundle(entry: URL): Promise<string> {
  const built = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    write: false,
    logLevel: 'silent',
  });
  return built.outputFiles[0]!.text;
}

export async function webrtcSuite(quick: boolean): Promise<void> {
  const signalling = await servePeerSignalling();
  const payload = new Uint8Array(BYTES);
  const node = await nodeToNode(signalling, payload, quick);
  const notes = [
    'Node to Node: PeerJS on node-datachannel. The raw baseline is a second data channel between two more peers in the same process.',
  ];
  let tab: PairFigures | undefined;
  try {
    tab = await nodeToChromium(signalling, payload, quick);
    notes.push(
      'Node to Chromium: the trainer in Node, the learner node and the raw far end in a Debian Chromium tab; 16 MiB sent from Node to the tab (the trainer sending a model).',
    );
  } catch (error) {
    notes.push(
      `Node to Chromium not measured: ${(error as Error).message.split('\n')[0]} (Chromium gathers no ICE candidates on loopback alone: run in a network namespace, as scripts/bench.sh does as root).`,
    );
  }
  await signalling.close();

  const us = (ns: number) => ns / 1000;
  const mbps = (ns: number) => (BYTES / ns) * 1000; // MB/s
  const lines = (prefix: string, f: PairFigures, rawNote: string, send: string): BenchResult[] => {
    const callRatio = f.small.ours!.median / f.small.raw!.median;
    const sendRatio = mbps(f.send.ours!.median) / mbps(f.send.raw!.median);
    return [
      {
        id: `raw.${prefix}datachannel.small`,
        median: us(f.small.raw!.median),
        unit: 'us',
        samples: f.small.raw!.samples,
        note: rawNote,
      },
      {
        id: `webrtc.${prefix}call.small`,
        median: us(f.small.ours!.median),
        unit: 'us',
        ratio: callRatio,
        vs: `raw.${prefix}datachannel.small`,
        target: 'ratio <= 1.3',
        met: callRatio <= 1.3,
        samples: f.small.ours!.samples,
      },
      {
        id: `raw.${prefix}datachannel.${send}`,
        median: mbps(f.send.raw!.median),
        unit: 'MB/s',
        samples: f.send.raw!.samples,
        note: '16 MiB in 256 KiB sends paced by bufferedamountlow, then an ack',
      },
      {
        id: `webrtc.${prefix}${send}`,
        median: mbps(f.send.ours!.median),
        unit: 'MB/s',
        ratio: sendRatio,
        vs: `raw.${prefix}datachannel.${send}`,
        target: 'throughput ratio >= 0.8',
        met: sendRatio >= 0.8,
        samples: f.send.ours!.samples,
      },
    ];
  };
  writeSuite(
    'webrtc',
    [
      ...lines(
        '',
        node,
        'PeerJS raw data channel, Node to Node (node-datachannel), 3 bytes echoed',
        'upload16m',
      ),
      ...(tab
        ? lines(
            'chromium.',
            tab,
            'PeerJS raw data channel, Node to a Chromium tab, 3 bytes echoed',
            'send16m',
          )
        : []),
    ],
    notes,
  );
}
