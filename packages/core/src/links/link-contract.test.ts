import { linkContract, type LinkKind } from './link-contract.test-support.js';
import { memoryLinkPair } from './memory-link.js';
import { eventTargetEndpoint, PortLink, type MessageTargetLike, type PortEncoding } from './port-link.js';

// The platform's MessageChannel (Node and browsers both have one): real structured cloning.
const { MessageChannel } = globalThis as unknown as {
  MessageChannel: new () => { port1: MessageTargetLike; port2: MessageTargetLike };
};

const port = (encoding: PortEncoding): LinkKind => ({
  name: `port link over a MessageChannel (${encoding})`,
  pair: async () => {
    const channel = new MessageChannel();
    return [
      new PortLink(eventTargetEndpoint(channel.port1), { encoding }),
      new PortLink(eventTargetEndpoint(channel.port2), { encoding }),
    ];
  },
});

linkContract([
  { name: 'memory link', pair: async () => memoryLinkPair() },
  {
    name: 'strict memory link (framed bytes through the codec)',
    pair: async () => memoryLinkPair({ strict: true }),
  },
  port('clone'),
  port('msgpack'),
]);
