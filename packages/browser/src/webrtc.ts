import { type FramedLinkOptions, type Node, type OpenPeer, type PeerOptions } from '@oiafed/core';
import { openPeer, serveOverWebRtc, type PeerConstructor } from '@oiafed/core/internal';
import { Peer as PeerJs } from 'peerjs';

export const Peer = PeerJs as unknown as PeerConstructor;

/** A PeerJS peer with this id, registered with the signalling server. */
export function createPeer(id: string, options: PeerOptions): Promise<OpenPeer> {
  return openPeer(Peer, id, options);
}

/** Lets learners in other tabs (or Node) reach `node` over data channels: a trainer in a tab. */
export function serveWebRtc(
  node: Node,
  options: PeerOptions & { link?: FramedLinkOptions },
): Promise<OpenPeer> {
  return serveOverWebRtc(Peer, node, options);
}
