import type { DataConnectionLike } from '@oiafed/core/internal';

/** The raw baseline's far end: echoes messages of up to 8 bytes, acks each `bytes` received. */
export function rawEchoAndAck(connection: DataConnectionLike, bytes: number): void {
  let received = 0;
  connection.on('data', (d) => {
    const data = d as ArrayBuffer | Uint8Array;
    if (data.byteLength <= 8)
      return connection.send(data instanceof Uint8Array ? data : new Uint8Array(data));
    received += data.byteLength;
    if (received >= bytes) {
      received = 0;
      connection.send(new Uint8Array([9, 9]));
    }
  });
}
