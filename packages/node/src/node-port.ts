import { MessagePort, type Transferable, type Worker } from 'node:worker_threads';
import type { PortEndpoint } from '@oiafed/core/internal';

/**
 * A worker_threads MessagePort or Worker as a link endpoint. A port's 'close' (its worker died, or the other
 * end closed) closes the link.
 */
export function nodePortEndpoint(port: MessagePort | Worker): PortEndpoint {
  const isPort = port instanceof MessagePort;
  return {
    postMessage: (message, transfer) =>
      transfer ? port.postMessage(message, transfer as Transferable[]) : port.postMessage(message),
    subscribe(listener) {
      port.on('message', listener);
      return () => port.off('message', listener);
    },
    ...(isPort
      ? {
          close: () => port.close(),
          onClose: (listener: (reason: string) => void) =>
            port.once('close', () => listener('port closed: the worker exited or the other end closed')),
        }
      : {}),
  };
}
