// The Chromium end of the webrtc suite (bundled by esbuild, loaded in a tab): a learner node on a
// data channel to the trainer in Node, and a raw PeerJS peer that echoes and acks like Node's.
import { Node } from '@oiafed/core';
import { connectPeer, openPeer, type DataConnectionLike, type PeerConstructor } from '@oiafed/core/internal';
import { Peer } from 'peerjs';
import { rawEchoAndAck } from '../raw-echo.js';

async function startBenchPeers(signalling: string, trainer: string, bytes: number): Promise<void> {
  const PeerClass = Peer as unknown as PeerConstructor;
  const node = new Node({ id: 'tab-learner', role: 'learner', timeout: 0, heartbeat: false });
  node.handle('add', (a: number, b: number) => a + b);
  node.handle('take', (w: Uint8Array) => w.length);
  const raw = await openPeer(PeerClass, 'tab-raw', { signalling });
  raw.on('connection', (c: DataConnectionLike) => rawEchoAndAck(c, bytes));
  const peer = await openPeer(PeerClass, 'tab-learner', { signalling });
  await node.connect(await connectPeer(peer, trainer));
}

Object.assign(globalThis, { startBenchPeers });
