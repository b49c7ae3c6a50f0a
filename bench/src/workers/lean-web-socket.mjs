// A WebSocket client (RFC 6455, the browser's API, what a link needs of it) for the sinks of
// ws.broadcast16m, cheaper than ws's per byte received: 1,000 ws clients in one process spent most
// of their time allocating a 64 KiB Buffer per read and a fresh 1 MiB Buffer per message, with a
// gigabyte of such messages half-assembled at once, and the sinks, not the trainer, set the pace.
// Here every socket reads into one buffer of the process (net's `onread`), and a large message is
// assembled in a buffer of its socket, reused: it is valid only while its 'message' listeners run.
// The learners copy what they keep (attachment bytes, into their scratch buffer) and the raw
// clients only count, so neither holds it longer. A message of up to SMALL bytes (hellos, limits,
// acks, the header of an attached frame) gets memory of its own, as in a browser.
import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { URL } from 'node:url';

const SMALL = 64 * 1024;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const READ = Buffer.allocUnsafe(256 * 1024);

export class LeanWebSocket {
  binaryType = 'arraybuffer';
  readyState = 0;
  #listeners = { open: [], message: [], close: [], error: [] };
  #socket;
  #key = randomBytes(16).toString('base64');
  #handshake = Buffer.alloc(0);
  #header = Buffer.allocUnsafe(14);
  #headerBytes = 0;
  #payload = false; // reading a frame's payload (else its header)
  #left = 0; // payload bytes of the current frame still to come
  #opcode = 0;
  #fin = true;
  #message = undefined; // where the current message is assembled
  #filled = 0;
  #reused = Buffer.alloc(0);
  #closeCode = 1006;
  #closeReason = '';

  constructor(url) {
    const { hostname, port, pathname, search } = new URL(url);
    this.#socket = connect({
      host: hostname,
      port: Number(port),
      onread: { buffer: READ, callback: (n, buffer) => this.#read(buffer.subarray(0, n)) },
    });
    this.#socket.setNoDelay(true);
    this.#socket.once('connect', () =>
      this.#socket.write(
        `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${this.#key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    this.#socket.on('error', (error) => this.#emit('error', { error }));
    this.#socket.on('close', () => {
      this.readyState = 3;
      this.#emit('close', { code: this.#closeCode, reason: this.#closeReason });
    });
  }

  get bufferedAmount() {
    return this.#socket.writableLength;
  }

  addEventListener(type, listener) {
    this.#listeners[type]?.push(listener);
  }

  send(data) {
    if (this.readyState === 1) this.#frame(0x2, data);
  }

  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    const body = Buffer.allocUnsafe(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.#frame(0x8, body);
    this.#socket.end();
  }

  #emit(type, event) {
    for (const listener of this.#listeners[type]) listener(event);
  }

  /** A frame to the server, masked (RFC 6455 §5.3) with a key of its own. */
  #frame(opcode, data) {
    const n = data.byteLength;
    const head = Buffer.allocUnsafe(n < 126 ? 6 : n < 65536 ? 8 : 14);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | (n < 126 ? n : n < 65536 ? 126 : 127);
    if (n >= 126 && n < 65536) head.writeUInt16BE(n, 2);
    if (n >= 65536) head.writeBigUInt64BE(BigInt(n), 2);
    const mask = randomBytes(4);
    mask.copy(head, head.length - 4);
    const body = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) body[i] = data[i] ^ mask[i & 3];
    this.#socket.write(Buffer.concat([head, body]));
  }

  #read(bytes) {
    if (this.readyState === 0) {
      this.#handshake = Buffer.concat([this.#handshake, bytes]);
      const end = this.#handshake.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.#handshake.subarray(0, end).toString('latin1');
      const accept = createHash('sha1')
        .update(this.#key + GUID)
        .digest('base64');
      if (!/^HTTP\/1\.1 101 /.test(head) || !head.includes(`\r\nSec-WebSocket-Accept: ${accept}`)) {
        this.#emit('error', { error: new Error(`upgrade refused: ${head.split('\r\n')[0]}`) });
        return void this.#socket.destroy();
      }
      const rest = Buffer.from(this.#handshake.subarray(end + 4));
      this.#handshake = undefined;
      this.readyState = 1;
      this.#emit('open', {});
      bytes = rest;
    }
    let at = 0;
    while (at < bytes.length && this.readyState < 3) {
      if (!this.#payload) at = this.#readHeader(bytes, at);
      else {
        const k = Math.min(this.#left, bytes.length - at);
        this.#message.set(bytes.subarray(at, at + k), this.#filled);
        this.#filled += k;
        this.#left -= k;
        at += k;
      }
      if (this.#payload && this.#left === 0) this.#frameDone();
    }
  }

  /** Takes header bytes; once whole, sets up the payload. Returns where reading goes on. */
  #readHeader(bytes, at) {
    const header = this.#header;
    const need = () =>
      this.#headerBytes < 2 ? 2 : 2 + ((header[1] & 0x7f) === 126 ? 2 : (header[1] & 0x7f) === 127 ? 8 : 0);
    while (this.#headerBytes < need() && at < bytes.length) header[this.#headerBytes++] = bytes[at++];
    if (this.#headerBytes < need()) return at;
    const short = header[1] & 0x7f;
    const length =
      short === 126 ? header.readUInt16BE(2) : short === 127 ? Number(header.readBigUInt64BE(2)) : short;
    this.#headerBytes = 0;
    this.#payload = true;
    const opcode = header[0] & 0x0f;
    this.#fin = (header[0] & 0x80) !== 0;
    if (opcode !== 0) this.#opcode = opcode;
    this.#left = length;
    const start = opcode === 0 ? this.#filled : 0;
    const size = start + length;
    if (opcode >= 0x8 || (this.#fin && start === 0 && size <= SMALL)) this.#message = new Uint8Array(size);
    else {
      if (this.#reused.length < size) {
        const grown = Buffer.allocUnsafe(Math.max(size, 2 * this.#reused.length));
        grown.set(this.#message?.subarray(0, start) ?? []);
        this.#reused = grown;
      }
      this.#message = this.#reused;
    }
    this.#filled = start;
    return at;
  }

  #frameDone() {
    this.#payload = false;
    const message = this.#message.subarray(0, this.#filled);
    switch (this.#opcode) {
      case 0x8:
        this.#closeCode = message.length >= 2 ? (message[0] << 8) | message[1] : 1005;
        this.#closeReason = Buffer.from(message.subarray(2)).toString();
        this.#message = undefined;
        return this.close(this.#closeCode === 1005 ? 1000 : this.#closeCode);
      case 0x9:
        this.#message = undefined;
        return this.#frame(0xa, message);
      case 0xa:
        this.#message = undefined;
        return;
    }
    if (!this.#fin) return; // a fragment: the message goes on in the next frame
    this.#message = undefined;
    this.#filled = 0;
    this.#emit('message', { data: message });
  }
}
