import { type Link } from '@oiafed/core';
import { acceptPeerConnections, connectWebSocket, FramedLink, webSocketChannel } from '@oiafed/core/internal';
import WebSocket, { WebSocketServer } from 'ws';
import { linkContract, type LinkKind } from '../../core/src/links/link-contract.test-support.js';
import { openDataChannel } from './webrtc.test-support.js';
import { createPeer, servePeerSignalling } from './webrtc.js';
import { watchWsProgress } from './ws-progress.js';

/** The far end's link, once it is made. */
function nextLink(): { accept: (link: Link) => void; link: Promise<Link> } {
  let accept: (link: Link) => void = () => undefined;
  const link = new Promise<Link>((resolve) => (accept = resolve));
  return { accept, link };
}

const webSocket: LinkKind = {
  name: 'WebSocket (ws server, the isomorphic client; each end hears messages arrive)',
  async pair() {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 64 * 1024 * 1024 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const server = nextLink();
    wss.once('connection', (socket) =>
      server.accept(
        new FramedLink(
          webSocketChannel(socket, { watchProgress: watchWsProgress, maxMessageSize: 64 * 1024 * 1024 }),
        ),
      ),
    );
    const client = await connectWebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`, {
      WebSocket,
      watchProgress: watchWsProgress,
    });
    const pair = [client, await server.link] as [Link, Link] & { release?: () => unknown };
    pair.release = () => new Promise((resolve) => wss.close(resolve));
    return pair;
  },
};

const dataChannel: LinkKind = {
  name: 'WebRTC data channel (PeerJS over node-datachannel, raw serialization, chunked under the SCTP limit)',
  async pair() {
    const signalling = await servePeerSignalling({ port: 0 });
    const [a, b] = await Promise.all([
      createPeer('contract-a', { signalling }),
      createPeer('contract-b', { signalling }),
    ]);
    const far = nextLink();
    acceptPeerConnections(b, far.accept);
    const near = await openDataChannel(a, 'contract-b');
    const pair = [near, await far.link] as [Link, Link] & { release?: () => unknown };
    pair.release = async () => {
      a.destroy();
      b.destroy();
      await signalling.close();
    };
    return pair;
  },
};

linkContract([webSocket, dataChannel]);
