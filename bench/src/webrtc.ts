import { connectPeer, Node, type DataConnectionLike, type PeerLike } from '@oiafed/core';
import { createPeer, servePeerSignalling, serveWebRtc } from '@oiafed/node';
import { interleaved, writeSuite } from './harness.js';

const BYTES = 16 * 1024 * 1024;
const RAW_CHUNK = 256 * 1024 - 64;

/** Opens a raw data connection from `from` to `to` and returns both ends once open. */
function rawPair(from: PeerLike, to: PeerLike): Promise<[DataConnectionLike, DataConnectionLike]> {
  return new Promise((resolve) => {
    let accepted: DataConnectionLike | undefined;
    let opened: DataConnectionLike | undefined;
    const done = () => accepted && opened && resolve([opened, accepted]);
    to.on('connection', (c) => c.on('open', () => ((accepted = c), done())));
    const c = from.connect(to.id, { serialization: 'raw', reliable: true });
    c.on('open', () => ((opened = c), done()));
  });
}

export async function webrtcSuite(quick: boolean): Promise<void> {
  const signalling = await servePeerSignalling();
  // Ours: a trainer node and a learner node over PeerJS data channels.
  const trainer = new Node({ id: 'trainer', role: 'trainer', timeout: 0 });
  trainer.handle('upload', (w: Uint8Array) => w.length);
  const trainerPeer = await serveWebRtc(trainer, { signalling });
  const learner = new Node({ id: 'learner', role: 'learner', timeout: 0 });
  learner.handle('add', (a: number, b: number) => a + b);
  const learnerPeer = await createPeer('learner', { signalling });
  await learner.connect(await connectPeer(learnerPeer, 'trainer'));
  // Raw: a second data channel between two more peers: echo small messages, ack uploads.
  const a = await createPeer('raw-a', { signalling });
  const b = await createPeer('raw-b', { signalling });
  const [ra, rb] = await rawPair(a, b);
  let received = 0;
  rb.on('data', (d) => {
    const bytes = d as ArrayBuffer | Uint8Array;
    if (bytes.byteLength <= 8) return rb.send(new Uint8Array(bytes as ArrayBuffer));
    received += bytes.byteLength;
    if (received >= BYTES) {
      received = 0;
      rb.send(new Uint8Array([9, 9]));
    }
  });
  let settle: () => void = () => undefined;
  ra.on('data', () => settle());
  const payload = new Uint8Array(BYTES);
  const rawUpload = () =>
    new Promise<void>((resolve) => {
      settle = resolve;
      // Raw sends chunked to the SCTP limit and paced by bufferedamountlow, as any sender must be.
      let at = 0;
      const channel = ra.dataChannel!;
      const pump = () => {
        while (at < BYTES) {
          ra.send(payload.subarray(at, Math.min(BYTES, at + RAW_CHUNK)));
          at += RAW_CHUNK;
          if (channel.bufferedAmount > 4 * 1024 * 1024) {
            channel.bufferedAmountLowThreshold = 2 * 1024 * 1024;
            channel.addEventListener('bufferedamountlow', pump, { once: true });
            return;
          }
        }
      };
      pump();
    });
  const small = await interleaved(
    { raw: () => new Promise<void>((resolve) => ((settle = resolve), ra.send(new Uint8Array([1, 2, 3])))), ours: () => trainer.call('learner', 'add', [1, 2]) },
    { batch: quick ? 200 : 1_000, samples: quick ? 5 : 21, warmup: 2 },
  );
  const upload = await interleaved({ raw: rawUpload, ours: () => learner.call('trainer', 'upload', [payload]) }, { batch: quick ? 1 : 3, samples: quick ? 3 : 9, warmup: 1 });
  learner.close();
  trainer.close();
  for (const p of [trainerPeer, learnerPeer, a, b]) p.destroy();
  await signalling.close();

  const us = (ns: number) => ns / 1000;
  const mbps = (ns: number) => BYTES / ns * 1000; // MB/s
  const callRatio = small.ours!.median / small.raw!.median;
  const uploadRatio = mbps(upload.ours!.median) / mbps(upload.raw!.median);
  writeSuite('webrtc', [
    { id: 'raw.datachannel.small', median: us(small.raw!.median), unit: 'us', samples: small.raw!.samples, note: 'PeerJS raw data channel, Node to Node (node-datachannel), 3 bytes echoed' },
    { id: 'webrtc.call.small', median: us(small.ours!.median), unit: 'us', ratio: callRatio, vs: 'raw.datachannel.small', target: 'ratio <= 1.3', met: callRatio <= 1.3, samples: small.ours!.samples },
    { id: 'raw.datachannel.upload16m', median: mbps(upload.raw!.median), unit: 'MB/s', samples: upload.raw!.samples, note: '16 MiB in 256 KiB sends paced by bufferedamountlow, then an ack' },
    { id: 'webrtc.upload16m', median: mbps(upload.ours!.median), unit: 'MB/s', ratio: uploadRatio, vs: 'raw.datachannel.upload16m', target: 'throughput ratio >= 0.8', met: uploadRatio >= 0.8, samples: upload.ours!.samples },
  ], ['Node to Node over loopback (node-datachannel needs no namespace there); browsers in a network namespace are not measured yet.']);
}
