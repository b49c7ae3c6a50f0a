import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BROADCAST, Node, PROTOCOL_VERSION, type FederationMember, type ServerLimits } from '@oiafed/core';
import { Codec, type Envelope } from '@oiafed/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { linearLearner } from '../../core/src/fl/linear-learner.test-support.js';
import { withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
import {
  serveWebSocket,
  type WebSocketServerOptions,
  type WebSocketTrainerServer,
} from './web-socket-server.js';

const MiB = 1024 * 1024;
const codec = new Codec();
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function trainerServer(
  limits: Partial<ServerLimits>,
  node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false }),
  extra: Partial<WebSocketServerOptions> = {},
) {
  const server = await serveWebSocket(node, { limits, ...extra });
  cleanup.push(
    () => server.close(),
    () => node.close(),
  );
  return { node, server };
}

async function honestLearner(
  server: WebSocketTrainerServer,
  extra: Partial<Parameters<typeof joinFederation>[0]> = {},
): Promise<FederationMember> {
  const member = await joinFederation({
    url: server.url,
    id: 'honest',
    learner: linearLearner(0),
    heartbeat: false,
    ...extra,
  });
  cleanup.push(() => member.close());
  return member;
}

/**
 * The process's memory from now on, over what it is now, in MiB: its peak RSS (Linux: VmHWM, whose
 * peak clear_refs resets), and what is still live after a full collection (heap and external
 * memory: RSS itself keeps what malloc freed but did not hand back). The attackers run in this
 * process too, but write with backpressure from buffers they reuse: what grows is the server's
 * (and the honest learner's).
 */
async function rssWatch(): Promise<{ peak(): number; retained(): Promise<number> }> {
  const before = await liveBytes();
  writeFileSync('/proc/self/clear_refs', '5');
  const base = process.memoryUsage().rss;
  return {
    peak: () =>
      (Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024 - base) / MiB,
    retained: async () => ((await liveBytes()) - before) / MiB,
  };
}

/**
 * Heap and external memory still live after full collections (V8 frees buffers' memory as it sweeps, after
 * the collection proper).
 */
async function liveBytes(): Promise<number> {
  collectGarbage();
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

/** A full collection, on demand: garbage of earlier tests freed during a measure would hide growth. */
const collectGarbage = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function report(name: string, code: number | string, rss: number, retained?: number): void {
  console.log(
    `budget ${name}: close ${code}, rss +${rss.toFixed(1)} MiB${retained === undefined ? '' : ` (peak; +${retained.toFixed(1)} MiB live after a collection)`}`,
  );
}

/**
 * A hostile client: `ws` for the upgrade and for what the server says (its frames, its close code),
 * and the TCP socket under it for frames written by hand, as no honest client would write them.
 */
type Attacker = Awaited<ReturnType<typeof attacker>>;

async function attacker(url: string) {
  const socket = new WebSocket(url);
  socket.on('error', () => undefined);
  const frames: Envelope[] = [];
  socket.on('message', (data: Buffer) => frames.push(codec.decode(data)));
  const closed = withTimeout(
    new Promise<number>((resolve) => socket.on('close', (code) => resolve(code))),
    10_000,
    'attacker not closed',
  );
  await withTimeout(
    new Promise<void>(
      (resolve, reject) => (socket.once('open', () => resolve()), socket.once('error', reject)),
    ),
    5_000,
    'attacker not open',
  );
  const tcp = (socket as unknown as { _socket: Socket })._socket;
  tcp.on('error', () => undefined);
  cleanup.push(() => socket.terminate());
  return {
    socket,
    tcp,
    closed,
    frames,
    /** Says hello as `id` and waits for the welcome: from then on the link is established. */
    async hello(id: string) {
      socket.send(
        codec.encode({
          kind: 'hello',
          version: PROTOCOL_VERSION,
          src: id,
          role: 'learner',
          capabilities: [],
          metadata: {},
        }),
      );
      await withTimeout(
        new Promise<void>((resolve) =>
          socket.on('message', () => frames.some((f) => f.kind === 'welcome') && resolve()),
        ),
        5_000,
        'no welcome',
      );
    },
    /** Writes with backpressure; resolves false once the connection is gone. */
    write: (bytes: Uint8Array) => write(tcp, bytes),
    /**
     * One binary message announcing `length` bytes, of which `send` are written (all by default), from one
     * reused buffer.
     */
    async message(length: number, send = length, bytes?: Uint8Array) {
      if (!(await write(tcp, header(length)))) return false;
      if (bytes) return write(tcp, bytes);
      for (let sent = 0; sent < send; sent += ZEROS.byteLength) {
        if (!(await write(tcp, sent + ZEROS.byteLength <= send ? ZEROS : ZEROS.subarray(0, send - sent))))
          return false;
      }
      return true;
    },
  };
}

const ZEROS = Buffer.alloc(MiB);

/** A client frame header announcing `length` bytes, masked with zeros so the payload goes as it is. */
function header(length: number): Buffer {
  if (length < 126) return Buffer.from([0x82, 0x80 | length, 0, 0, 0, 0]);
  if (length < 65_536) {
    const h = Buffer.alloc(8);
    h[0] = 0x82;
    h[1] = 0x80 | 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(14);
  h[0] = 0x82;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

/** A whole binary message of `bytes`, as one client frame. */
const frame = (bytes: Uint8Array) => Buffer.concat([header(bytes.byteLength), bytes]);

function write(tcp: Socket, bytes: Uint8Array): Promise<boolean> {
  if (tcp.destroyed || !tcp.writable) return Promise.resolve(false);
  if (tcp.write(bytes)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      tcp.off('drain', drained);
      tcp.off('close', gone);
      resolve(ok);
    };
    const drained = done(true);
    const gone = done(false);
    tcp.once('drain', drained);
    tcp.once('close', gone);
  });
}

describe('WebSocket server memory budgets', () => {
  it('before hello, holds only what a hello needs: larger messages get 1009 before ws buffers them, chunks 4400', async () => {
    const { server, node } = await trainerServer({});
    const member = await honestLearner(server);
    const rss = await rssWatch();
    // Eight strangers each start a message of 32 MiB (maxPayload, a learner's due) and write all of it.
    const large = await Promise.all(Array.from({ length: 8 }, () => attacker(server.url)));
    const writes = large.map((a) => a.message(32 * MiB));
    // Eight more send chunked frames: 1 KiB chunks of a 1,500-chunk frame, each within a hello's size.
    const chunked = await Promise.all(Array.from({ length: 8 }, () => attacker(server.url)));
    const chunks = chunked.map(async (a) => {
      for (let index = 0; index < 1500; index++)
        if (
          !(await a.write(
            frame(codec.encode({ kind: 'chunk', id: 1, index, count: 1500, data: ZEROS.subarray(0, 1024) })),
          ))
        )
          return;
    });
    const codes = await Promise.all([...large, ...chunked].map((a) => a.closed));
    await Promise.all([...writes, ...chunks]);
    const grown = rss.peak();
    const retained = await rss.retained();
    report('hello (message > helloBytes)', codes[0]!, grown, retained);
    report('hello (chunks)', codes[8]!, grown, retained);
    expect(codes).toEqual([...Array(8).fill(1009), ...Array(8).fill(4400)]);
    expect(chunked[0]!.frames.find((f) => f.kind === 'error')).toMatchObject({
      error: { code: 'BAD_FRAME', message: expect.stringMatching(/chunk frame before the handshake/) },
    });
    // What the server read after refusing (ws discards it until the close completes) is garbage the collector
    // has yet to free; unbounded: 8 x 32 MiB held.
    expect(grown).toBeLessThan(64);
    expect(await node.call('honest', 'getWeights', [])).toBeDefined();
    expect(member.status.state).toBe('registered');
  });

  it('after hello, bounds partial frames per link: chunks in bytes and in number, attachments and messages announced', async () => {
    const { server, node } = await trainerServer({ linkPartialBytes: 8 * MiB, linkPartialChunks: 256 });
    const member = await honestLearner(server);
    const rss = await rssWatch();
    const [chunks, empty, attachment, message, arriving] = await Promise.all(
      Array.from({ length: 5 }, () => attacker(server.url)),
    );
    await Promise.all([
      chunks!.hello('chunks'),
      empty!.hello('empty'),
      attachment!.hello('attachment'),
      message!.hello('message'),
      arriving!.hello('arriving'),
    ]);
    // 1 MiB chunks of a 100-chunk frame: 100 MiB if held.
    const chunk = (index: number) =>
      frame(codec.encode({ kind: 'chunk', id: 1, index, count: 100, data: ZEROS }));
    const bigChunks = (async () => {
      for (let index = 0; index < 100; index++) if (!(await chunks!.write(chunk(index)))) return;
    })();
    // A million empty chunks, 200 to each frame of 256 (so that none completes).
    const emptyChunks = (async () => {
      for (let n = 0; n < 1_000_000; n++)
        if (
          !(await empty!.write(
            frame(
              codec.encode({
                kind: 'chunk',
                id: 1 + Math.floor(n / 200),
                index: n % 200,
                count: 256,
                data: new Uint8Array(0),
              }),
            ),
          ))
        )
          return;
    })();
    // An attached frame announcing 100 MiB, then its bytes.
    const attached = codec.encode({
      kind: 'attached',
      frame: { kind: 'event', id: 0, src: 'attachment', dst: 'trainer', name: 'e', payload: null } as never,
      sizes: [100 * MiB],
      types: ['Uint8Array'],
    });
    const attachedBytes = attachment!.write(frame(attached)).then(() => attachment!.message(100 * MiB));
    // A message over maxPayload (32 MiB), and one within it but over linkPartialBytes.
    const over = message!.message(64 * MiB);
    const within = arriving!.message(16 * MiB);
    const codes = await Promise.all([
      chunks!.closed,
      empty!.closed,
      attachment!.closed,
      message!.closed,
      arriving!.closed,
    ]);
    await Promise.all([bigChunks, emptyChunks, attachedBytes, over, within]);
    const grown = rss.peak();
    const retained = await rss.retained();
    const names = [
      'linkPartialBytes (chunks)',
      'linkPartialChunks (empty chunks)',
      'linkPartialBytes (attachment announced)',
      'maxPayload (message announced)',
      'linkPartialBytes (message arriving)',
    ];
    names.forEach((name, i) => report(name, codes[i]!, grown, retained));
    expect(codes).toEqual([1009, 1009, 1009, 1009, 1009]);
    expect(empty!.frames.find((f) => f.kind === 'error')).toMatchObject({
      error: { message: 'more than 256 chunks held at once' },
    });
    expect(attachment!.frames.find((f) => f.kind === 'error')).toMatchObject({
      error: { code: 'PAYLOAD_TOO_LARGE' },
    });
    expect(arriving!.frames.find((f) => f.kind === 'error')).toMatchObject({
      error: { message: expect.stringMatching(/exceed this link's 8388608/) },
    });
    expect(grown).toBeLessThan(64); // unbounded: 100 + 100 + 32 + 16 MiB and the empty chunks
    expect(server.partialBudget.used).toBe(0);
    expect(await node.call('honest', 'getWeights', [])).toBeDefined();
    expect(member.status.state).toBe('registered');
  });

  it('holds all links together within totalPartialBytes: more waits unread (no heartbeat loss for our pause), and an honest upload completes once stalled holders are dropped', async () => {
    const heartbeat = { interval: 100, timeout: 600 };
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat });
    const { server } = await trainerServer(
      { totalPartialBytes: 24 * MiB, linkPartialBytes: 16 * MiB },
      trainer,
    );
    let uploaded: Float32Array | undefined;
    trainer.handle('upload', (w: Float32Array) => ((uploaded = w), w.length));
    const member = await honestLearner(server, { heartbeat });
    const dropped: string[] = [];
    trainer.events.on('CLIENT_DISCONNECTED', (c) => dropped.push(`${c.id}: ${c.reason}`));
    const serverSide: Socket[] = [];
    server.wss.on('connection', (ws) => serverSide.push((ws as unknown as { _socket: Socket })._socket));
    const weights = new Float32Array(2 * MiB).map((_, i) => i % 1000);
    const rss = await rssWatch();

    // Two attackers each announce 12 MiB and send half: between them they hold the whole budget, then stall.
    const holders: Attacker[] = [];
    for (let i = 0; i < 2; i++) {
      const a = await attacker(server.url);
      const tcp = serverSide.at(-1)!;
      await a.hello(`holder-${i}`);
      const read = new Promise((resolve) => tcp.once('data', resolve));
      void a.message(12 * MiB, 6 * MiB);
      await read;
      holders.push(a);
    }
    expect(server.partialBudget.used).toBe(24 * MiB);
    // Twelve more push 12 MiB each (garbage): they wait, unread, their sockets paused.
    const pushers: Attacker[] = [];
    for (let i = 0; i < 12; i++) {
      const a = await attacker(server.url);
      await a.hello(`pusher-${i}`);
      void a.message(12 * MiB);
      pushers.push(a);
    }
    // The honest learner's 8 MiB model waits behind them.
    const upload = member.node.call('trainer', 'upload', [weights], { timeout: 20_000 });

    // The stalled holders miss their heartbeat and are dropped; the pushers' bytes are then read
    // (and refused as garbage); then the honest model arrives whole.
    const holderCodes = await Promise.all(holders.map((a) => a.closed));
    const pusherCodes = await Promise.all(pushers.map((a) => a.closed));
    expect(await upload).toBe(weights.length);
    const grown = rss.peak();
    const retained = await rss.retained();
    report('totalPartialBytes (stalled holders)', holderCodes[0]!, grown, retained);
    report('totalPartialBytes (waiting pushers, read once room was free)', pusherCodes[0]!, grown, retained);
    expect(holderCodes).toEqual([4408, 4408]);
    expect(pusherCodes).toEqual(Array(12).fill(4400));
    expect(
      Buffer.from(uploaded!.buffer, uploaded!.byteOffset, uploaded!.byteLength).equals(
        Buffer.from(weights.buffer),
      ),
    ).toBe(true);
    expect(dropped.filter((d) => d.startsWith('honest'))).toEqual([]);
    expect(dropped.filter((d) => d.startsWith('pusher'))).toEqual(
      expect.arrayContaining([expect.stringMatching(/^pusher-0: BAD_FRAME/)]),
    );
    // Read two at a time, the pushers cost the budget's 24 MiB, twice that while ws joins a message's
    // reads into one buffer, plus the holders' 12 MiB, the honest model and what the collector has
    // not yet freed; unbounded, 12 x 12 MiB at once, twice over.
    expect(grown).toBeLessThan(128);
    expect(server.partialBudget.used).toBe(0);
  });

  it('drops a learner that stops reading with 1013 once outboundBytes wait for it, while an honest reader gets every broadcast', async () => {
    const { server, node } = await trainerServer({ outboundBytes: 8 * MiB });
    const member = await honestLearner(server);
    let got = 0;
    let heard: () => void = () => undefined;
    member.node.on('model', () => {
      got++;
      heard();
    });
    const readers = await Promise.all(Array.from({ length: 4 }, () => attacker(server.url)));
    for (const [i, a] of readers.entries()) await a.hello(`sleeper-${i}`);
    // They stop reading: the server's writes to them fill the TCP buffers, then its own.
    for (const a of readers) a.tcp.pause();
    const overloaded = Promise.all(
      readers.map((_, i) =>
        withTimeout(
          new Promise<string>((resolve) =>
            node.events.on('CLIENT_DISCONNECTED', (c) => c.id === `sleeper-${i}` && resolve(c.reason ?? '')),
          ),
          15_000,
          `sleeper-${i} not dropped`,
        ),
      ),
    );
    const model = 'm'.repeat(4 * MiB); // not a typed array: encoded (a copy) for every link
    const rss = await rssWatch();
    for (let round = 0; round < 16; round++) {
      const arrived = new Promise<void>((resolve) => (heard = resolve));
      node.emit(BROADCAST, 'model', model);
      await withTimeout(arrived, 5_000, `round ${round} not heard`);
    }
    const reasons = await overloaded;
    const grown = rss.peak();
    const retained = await rss.retained();
    for (const a of readers) a.tcp.resume();
    const codes = await Promise.all(readers.map((a) => a.closed));
    report('outboundBytes (4 readers stopped)', codes[0]!, grown, retained);
    expect(reasons.every((r) => r.startsWith('OVERLOADED'))).toBe(true);
    expect(codes).toEqual([1013, 1013, 1013, 1013]);
    expect(got).toBe(16);
    expect(member.status.state).toBe('registered');
    // Live after a collection: at most outboundBytes in each sleeper's socket until ws's close
    // timeout ends it (32 MiB), and the codec's encoding buffer (16 MiB after a 4 MiB frame).
    // Unbounded, each sleeper would hold 16 x 4 MiB, twice over (the frame encoded, then its
    // chunks): 512 MiB. The peak is mostly encodings and the honest learner's copies: garbage.
    expect(retained).toBeLessThan(64);
    expect(grown).toBeLessThan(256);
  });
});

describe('WebSocket server connection budgets', () => {
  /** A raw TCP connection; resolves what the server answered (if anything) once it closes it. */
  function rawConnection(port: number, send?: string) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    if (send !== undefined) socket.once('connect', () => socket.write(send));
    const opened = Date.now();
    cleanup.push(() => socket.destroy());
    return withTimeout(
      new Promise<{ answer: string; after: number }>((resolve) =>
        socket.once('close', () => resolve({ answer, after: Date.now() - opened })),
      ),
      5_000,
      'connection not closed',
    );
  }
  const upgrade = (path = '/') =>
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  it('holds connections that have not upgraded to maxConnections at once: one more is ended at once', async () => {
    const { server } = await trainerServer({ maxConnections: 3, upgradeTimeout: 60_000 });
    const held = [0, 1, 2].map(() => connect(server.port, '127.0.0.1'));
    let heldClosed = 0;
    for (const socket of held) {
      socket.on('error', () => undefined);
      socket.on('close', () => heldClosed++);
      cleanup.push(() => socket.destroy());
    }
    await Promise.all(held.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    // The server accepts connections in the order they came: this one is its fourth.
    const extra = await rawConnection(server.port);
    expect(extra.answer).toBe('');
    expect(extra.after).toBeLessThan(30_000);
    expect(heldClosed).toBe(0);
  });

  for (const mode of ['standalone', "on the user's http server"] as const) {
    it(`${mode}: refuses upgrades beyond maxConnections with HTTP 503 and destroys sockets that do not upgrade within upgradeTimeout`, async () => {
      const user =
        mode === 'standalone'
          ? undefined
          : createServer((_req, res) => void setTimeout(() => res.end('slow page'), 400));
      if (user) {
        await new Promise<void>((resolve) => user.listen(0, '127.0.0.1', resolve));
        cleanup.push(() => new Promise((resolve) => user.close(resolve)));
      }
      const { server } = await trainerServer(
        { maxConnections: 3, upgradeTimeout: 200 },
        undefined,
        user ? { server: user } : {},
      );
      const rss = await rssWatch();
      await Promise.all([attacker(server.url), attacker(server.url), attacker(server.url)]);
      const refused = await rawConnection(server.port, upgrade());
      expect(refused.answer).toMatch(
        /^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*the server holds 3 connections, its limit$/,
      );

      const silent = rawConnection(server.port);
      const slowloris = rawConnection(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const [quiet, partial] = await Promise.all([silent, slowloris]);
      report('upgradeTimeout', 'destroyed', rss.peak());
      for (const ended of [quiet, partial]) {
        expect(ended.answer).toBe('');
        expect(ended.after).toBeGreaterThanOrEqual(150);
      }

      // A connection that closes makes room for the next one.
      const first = [...server.wss.clients][0]!;
      const gone = new Promise((resolve) => first.once('close', resolve));
      first.terminate();
      await gone;
      const next = await attacker(server.url);
      expect(next.socket.readyState).toBe(WebSocket.OPEN);
      report('maxConnections', 503, rss.peak());

      if (user) {
        // The user's own pages are the user's: a request slower than upgradeTimeout still gets its answer.
        const page = await fetch(`http://127.0.0.1:${server.port}/`);
        expect(await page.text()).toBe('slow page');
      }
    });
  }
});
