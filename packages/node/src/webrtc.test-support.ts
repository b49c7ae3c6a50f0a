import { type Link, type OiafedError } from '@oiafed/core';
import { connectPeer, type PeerLike } from '@oiafed/core/internal';

/**
 * A data channel to `id`, tried up to three times: on a loaded 2-core machine one occasionally fails
 * to open (joinFederation's uplink retries the same way; tests that call connectPeer bare use this).
 */
export async function openDataChannel(peer: PeerLike, id: string): Promise<Link> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectPeer(peer, id, { timeout: 5_000 });
    } catch (error) {
      if (attempt === 3 || (error as OiafedError).code !== 'TIMEOUT') throw error;
    }
  }
}
