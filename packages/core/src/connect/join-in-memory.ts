import type { Link } from '../links/link.js';
import { memoryLinkPair, type MemoryLinkOptions } from '../links/memory-link.js';
import type { JoinOptions, PeerInfo } from '../rpc/node.js';

/** Links `leaf` to `hub` in this process and performs the join; memory mode's whole transport. */
export function joinInMemory(
  hub: { accept(link: Link): void },
  leaf: { connect(link: Link, options?: JoinOptions): Promise<PeerInfo> },
  options: JoinOptions & MemoryLinkOptions = {},
): Promise<PeerInfo> {
  const [hubSide, leafSide] = memoryLinkPair(options);
  hub.accept(hubSide);
  return leaf.connect(leafSide, options);
}
