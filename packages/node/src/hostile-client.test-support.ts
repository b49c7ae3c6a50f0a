import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  currentCall,
  PROTOCOL_VERSION,
  type FederationMember,
  type Learner,
  type TrainParams,
} from '@oiafed/core';
import { Codec, type Envelope, type WebSocketLike } from '@oiafed/core/internal';
import WebSocket from 'ws';
import { LinearLearner, linearData } from '../../core/src/fl/linear-learner.test-support.js';
import { withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
import { LineProcess } from './line-process.test-support.js';
import { watchWsProgress } from './ws-progress.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The attacker's encoder: the real codec's (a learner's bytes look like this: objects as msgpackr
 * records defined in the message itself, tuples as arrays), used on values no honest node would
 * send. Nothing checks that they are frames.
 */
const attackerCodec = new Codec();

/** Bytes for any value, as an attacker would write them. */
export const pack = (value: unknown): Uint8Array => attackerCodec.encodeValue(value);

/** A value whose conversion to a string throws: an object with a `toString` that is not a function. */
export const UNPRINTABLE = { toString: 1, valueOf: 1 } as const;

/** Stands in a template for bytes spliced in after encoding (see `packWith`). */
export const HOLE = '\u0001hole\u0001';

/**
 * Encodes `template` and puts `insert` where the string HOLE stands: values too deep for the
 * encoder's recursion can still be written (the server's decoder reads them all the same).
 */
export function packWith(template: unknown, insert: Uint8Array): Uint8Array {
  const bytes = pack(template);
  const hole = pack(HOLE);
  const at = indexOf(bytes, hole);
  if (at < 0) throw new Error('template holds no HOLE');
  const out = new Uint8Array(bytes.byteLength - hole.byteLength + insert.byteLength);
  out.set(bytes.subarray(0, at));
  out.set(insert, at);
  out.set(bytes.subarray(at + hole.byteLength), at + insert.byteLength);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.byteLength <= haystack.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The bytes of a wire error whose causes nest `depth` deep, as the codec writes nested objects
 * (the record defined once, referenced below), built level by level: no recursion here.
 */
export function deepCause(depth: number): Uint8Array {
  const level = (cause: unknown) => ({ name: 'Error', message: 'level', cause });
  const hole = pack(HOLE).byteLength;
  const first = pack(level(HOLE)).subarray(0, -hole);
  const inner = pack(level(level(HOLE))).subarray(first.byteLength, -hole);
  const out = new Uint8Array(first.byteLength + inner.byteLength * (depth - 1) + 1);
  out.set(first);
  for (let i = 1; i < depth; i++) out.set(inner, first.byteLength + (i - 1) * inner.byteLength);
  out[out.byteLength - 1] = 0xc0; // nil: the last cause
  return out;
}

/** Frame tuple codes (frame-tuples.ts): how direct frames travel between a link's two ends. */
export const TUPLE = { call: 0, result: 1, error: 2, event: 3, cancel: 4, ack: 5 } as const;

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface Closed {
  code: number;
  reason: string;
}

export interface RawClientOptions {
  /** Answer the server's pings, as a live client does (default true): keeps a joined attacker from timing out. */
  autoPong?: boolean;
  /**
   * Answers the server's calls (a learner's train, evaluate...): a value is sent as the result. Unset: calls
   * go unanswered.
   */
  answer?: (method: string, args: unknown[]) => unknown;
  /** Sends a ping of its own every this many ms, reading or not: the server hears it alive all the same. */
  keepAlive?: number;
}

/**
 * A hostile client: a bare `ws` socket that writes whatever bytes it is given and records what
 * comes back (frames decoded with the real codec, and the close code).
 */
export class RawClient {
  /**
   * Close codes the servers gave attackers, in order (not the closes the tests made): figures for a class's
   * summary.
   */
  static readonly serverCloses: number[] = [];
  readonly frames: Envelope[] = [];
  readonly closed: Promise<Closed>;
  readonly #codec = new Codec();
  readonly #waiters: { test: (f: Envelope) => boolean; resolve: (f: Envelope) => void }[] = [];
  #closedWith: Closed | undefined;
  #closedHere = false;

  private constructor(
    readonly socket: WebSocket,
    options: RawClientOptions,
  ) {
    socket.on('error', () => undefined);
    const keepAlive =
      options.keepAlive === undefined
        ? undefined
        : setInterval(() => void this.send({ kind: 'ping', t: Date.now() }), options.keepAlive);
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        clearInterval(keepAlive);
        this.#closedWith = { code, reason: reason.toString() };
        if (!this.#closedHere) RawClient.serverCloses.push(code);
        resolve(this.#closedWith);
      }),
    );
    socket.on('message', (data: Buffer) => {
      let frame: Envelope;
      try {
        frame = this.#codec.decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch {
        return; // attachment bytes, which these tests do not read
      }
      if (frame.kind === 'limits') return;
      this.frames.push(frame);
      for (let i = this.#waiters.length - 1; i >= 0; i--)
        if (this.#waiters[i]!.test(frame)) this.#waiters.splice(i, 1)[0]!.resolve(frame);
      if (frame.kind === 'ping' && options.autoPong !== false) void this.send({ kind: 'pong', t: frame.t });
      if (frame.kind === 'call' && options.answer)
        void this.send([TUPLE.result, frame.id, options.answer(frame.method, frame.args)]);
    });
  }

  /** Opens a socket to `url`; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, options: RawClientOptions = {}): Promise<RawClient> {
    const socket = new WebSocket(url);
    return withTimeout(
      new Promise<RawClient>((resolve, reject) => {
        socket.once('open', () => resolve(new RawClient(socket, options)));
        socket.once('unexpected-response', (_req, res) => {
          reject(new UpgradeRefused(res.statusCode ?? 0));
          socket.terminate();
        });
        socket.once('error', reject);
      }),
      5_000,
      `no WebSocket open to ${url}`,
    );
  }

  /** Joins as a learner by the rules (hello with `token`), resolving with the welcome. */
  static async join(
    url: string,
    id: string,
    token: string | undefined,
    options: RawClientOptions = {},
    extra: Record<string, unknown> = {},
  ): Promise<{ client: RawClient; welcome: Envelope }> {
    const client = await RawClient.connect(url, options);
    void client.hello(id, { ...(token === undefined ? {} : { token }), ...extra });
    const welcome = await client.next((f) => f.kind === 'welcome' || f.kind === 'error');
    if (welcome.kind !== 'welcome') throw new Error(`${id} was refused: ${JSON.stringify(welcome)}`);
    return { client, welcome };
  }

  get isClosed(): boolean {
    return this.#closedWith !== undefined;
  }

  /** Writes raw bytes; resolves once they left (false when the socket is already closed or failed to write them). */
  sendBytes(bytes: Uint8Array): Promise<boolean> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.send(bytes, { binary: true }, (error) => resolve(!error)));
  }

  /** Writes any value, encoded as an attacker would (see `pack`); bytes go as they are. */
  send(value: unknown): Promise<boolean> {
    return this.sendBytes(value instanceof Uint8Array ? value : pack(value));
  }

  hello(src: unknown, extra: Record<string, unknown> = {}): Promise<boolean> {
    return this.send({
      kind: 'hello',
      version: PROTOCOL_VERSION,
      src,
      role: 'learner',
      capabilities: [],
      metadata: {},
      ...extra,
    });
  }

  /** The first frame (received or to come) that passes `test`. */
  next(test: (f: Envelope) => boolean, ms = 5_000): Promise<Envelope> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen);
    return withTimeout(
      new Promise<Envelope>((resolve) => this.#waiters.push({ test, resolve })),
      ms,
      'no such frame from the server',
    );
  }

  /** The close, within `ms`. */
  waitClosed(ms = 5_000): Promise<Closed> {
    return withTimeout(this.closed, ms, 'socket not closed by the server');
  }

  /** Stops reading from the TCP socket (a slow reader), or reads again. */
  pause(): void {
    (this.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  }

  resume(): void {
    (this.socket as unknown as { _socket: { resume(): void } })._socket.resume();
  }

  close(): void {
    this.#closedHere = true;
    this.socket.terminate();
  }
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

/** The console line `oiafed serve` prints per round, parsed. */
export interface RoundLine {
  round: number;
  results: number;
  selected: number;
  /** `learner: CODE` pairs of the round's failures. */
  failures: Map<string, string>;
  /** Train loss, when reported. */
  loss: number | undefined;
  seconds: number;
  line: string;
}

const ROUND_LINE =
  /^round (\d+)\/\d+ {2}(\d+)\/(\d+) learners(?: {2}\d+ failed \((.*?)\))?(?: {2}train loss (\S+))?.* {2}(\d+\.\d) s$/;

export function parseRound(line: string): RoundLine | undefined {
  const m = ROUND_LINE.exec(line);
  if (!m) return undefined;
  const failures = new Map<string, string>();
  for (const pair of (m[4] ?? '').split(', ')) {
    const at = pair.lastIndexOf(': ');
    if (at > 0) failures.set(pair.slice(0, at), pair.slice(at + 2));
  }
  return {
    round: Number(m[1]),
    results: Number(m[2]),
    selected: Number(m[3]),
    failures,
    loss: m[5] === undefined ? undefined : Number(m[5]),
    seconds: Number(m[6]),
    line,
  };
}

export interface ServeConfig {
  token?: string;
  heartbeat?: { interval: number; timeout: number };
  timeouts?: Record<string, number>;
  federation?: Record<string, unknown>;
  security?: Record<string, unknown>;
}

/** Security budgets low enough that hitting each one is quick. */
export const LOW_BUDGETS = {
  helloBytes: 65_536,
  linkPartialBytes: 8 * 1024 * 1024,
  totalPartialBytes: 32 * 1024 * 1024,
  outboundBytes: 4 * 1024 * 1024,
  upgradeTimeout: 500,
  maxConnections: 50,
};

const MiB = 1024 * 1024;

/**
 * A real `oiafed serve <yaml>` child process, in websocket mode on 127.0.0.1: the trainer every
 * hostile client attacks. Its console lines are what the tests wait on.
 */
export class ServeProcess {
  #exitCode: number | null | undefined;

  /** Rejects once the process exits: every wait on its lines races it, so a crash fails at once. */
  readonly #died: Promise<never>;

  private constructor(
    readonly process: LineProcess,
    readonly url: string,
    readonly config: string,
  ) {
    void process.exited.then((code) => (this.#exitCode = code));
    this.#died = process.exited.then((code) => {
      throw new Error(
        `oiafed serve exited (code ${code}); last lines:\n${process.lines.slice(-15).join('\n')}`,
      );
    });
    this.#died.catch(() => undefined);
  }

  /** A wait on the process's output that fails as soon as the process is gone. */
  #whileAlive<T>(wait: Promise<T>): Promise<T> {
    return Promise.race([wait, this.#died]);
  }

  /** Writes the run config (YAML; JSON is YAML) into `dir` and starts serving it; resolves once it listens. */
  static async start(dir: string, name: string, options: ServeConfig = {}): Promise<ServeProcess> {
    const port = await freePort();
    const config = join(dir, `${name}.yaml`);
    const run = {
      node: { id: 'trainer' },
      transport: {
        mode: 'websocket',
        host: '127.0.0.1',
        port,
        ...(options.token === undefined ? {} : { token: options.token }),
      },
      heartbeat: options.heartbeat ?? { interval: 200, timeout: 1_000 },
      timeouts: { connect: 3_000, ...options.timeouts },
      federation: {
        rounds: 100_000,
        minClients: 1,
        deadline: 4_000,
        train: { lr: 0.05 },
        checkpoint: join(dir, `${name}.checkpoint`),
        ...options.federation,
      },
      security: { ...LOW_BUDGETS, ...options.security },
    };
    await writeFile(config, JSON.stringify(run, null, 1));
    const process = new LineProcess(['--import', 'tsx', '--conditions=source', 'cli.ts', 'serve', config], {
      cwd: here,
      ...(globalThis.process.env.HOSTILE_VERBOSE ? { verbose: name } : {}),
    });
    const serve = new ServeProcess(process, `ws://127.0.0.1:${port}`, config);
    try {
      await process.waitFor(/^oiafed: trainer \S+ serving ws:/, 30_000);
    } catch (error) {
      process.kill();
      throw error;
    }
    return serve;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** The process is running: it has not exited, and the kernel still knows it. */
  get alive(): boolean {
    if (this.#exitCode !== undefined) return false;
    try {
      globalThis.process.kill(this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  rounds(): RoundLine[] {
    return this.process.lines.map(parseRound).filter((r): r is RoundLine => r !== undefined);
  }

  /** The number of the last round line printed so far (0 before the first). */
  lastRound(): number {
    const all = this.rounds();
    return all.length === 0 ? 0 : all[all.length - 1]!.round;
  }

  /** The first round line after round `after` (default: the last one printed so far) that passes `test`. */
  async nextRound(
    test: (r: RoundLine) => boolean = () => true,
    after = this.lastRound(),
    ms = 30_000,
  ): Promise<RoundLine> {
    const line = await this.#whileAlive(
      this.process.waitForLine(
        (l) => {
          const r = parseRound(l);
          return r !== undefined && r.round > after && test(r);
        },
        ms,
        `a round line after round ${after}`,
      ),
    );
    return parseRound(line)!;
  }

  /**
   * The first of the next `rounds` round lines (after round `after`) that passes `test`; fails,
   * naming those rounds, when none of them does.
   */
  async roundWithin(
    test: (r: RoundLine) => boolean,
    rounds: number,
    what: string,
    after = this.lastRound(),
    ms = 30_000,
  ): Promise<RoundLine> {
    let seen = 0;
    const line = await this.#whileAlive(
      this.process.waitForLine(
        (l) => {
          const r = parseRound(l);
          if (r === undefined || r.round <= after) return false;
          seen += 1;
          return test(r) || seen >= rounds;
        },
        ms,
        `${what} within ${rounds} rounds after round ${after}`,
      ),
    );
    const r = parseRound(line)!;
    if (!test(r))
      throw new Error(
        `${what}: not in the ${rounds} rounds after round ${after}:\n${this.rounds()
          .filter((x) => x.round > after)
          .map((x) => x.line)
          .join('\n')}`,
      );
    return r;
  }

  /** The first line (printed or to come) matching `test`. */
  line(test: RegExp, ms = 30_000): Promise<string> {
    return this.#whileAlive(this.process.waitFor(test, ms).then((m) => m.input!));
  }

  /** Resident and peak resident memory of the server, MiB (from /proc). */
  memory(): { rss: number; peak: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
  }

  /**
   * Starts a fresh peak measurement: the kernel resets the peak resident size to the current one
   * (clear_refs 5). Returns the baseline, MiB.
   */
  resetPeak(): number {
    writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    return this.memory().rss;
  }

  /** Ctrl-C, then the exit code (killed if it does not exit within `ms`). */
  async stop(ms = 15_000): Promise<number | null> {
    if (this.#exitCode !== undefined) return this.#exitCode;
    this.process.interrupt();
    try {
      return await withTimeout(this.process.exited, ms, 'oiafed serve did not exit after SIGINT');
    } finally {
      this.process.kill();
    }
  }
}

/** `class <name>: close <code>, peak RSS <MiB> (baseline <MiB>)`, for the closing note. */
export function reportClass(name: string, close: number | string, peak: number, baseline: number): string {
  const line = `class ${name}: close ${close}, peak RSS ${peak.toFixed(1)} MiB (baseline ${baseline.toFixed(1)} MiB)`;
  console.log(line);
  return line;
}

export const mib = (bytes: number) => bytes / MiB;

/**
 * An honest learner whose training takes a while, as a real one's does (rounds then run at a pace
 * that leaves the machine to everything else), and that records who called it with what.
 */
export class HonestLearner implements Learner {
  readonly inner: LinearLearner;
  readonly calls: { method: string; caller: string; args: unknown[] }[] = [];
  readonly #trainMs: number;
  readonly #trained: ((round: number) => void)[] = [];
  readonly #started: ((round: number) => void)[] = [];

  constructor(seed: number, trainMs = 50) {
    this.inner = new LinearLearner(linearData(seed, 30));
    this.#trainMs = trainMs;
  }

  #record(method: string, args: unknown[]): void {
    this.calls.push({ method, caller: currentCall().caller, args });
  }

  async train(params: TrainParams) {
    this.#record('train', [params]);
    for (const resolve of this.#started.splice(0)) resolve(params.round);
    // The time training takes, not a synchronisation: nothing waits on it.
    await new Promise((resolve) => setTimeout(resolve, this.#trainMs));
    const result = this.inner.train(params);
    for (const resolve of this.#trained.splice(0)) resolve(params.round);
    return result;
  }

  evaluate(params: Parameters<LinearLearner['evaluate']>[0]) {
    this.#record('evaluate', [params]);
    return this.inner.evaluate(params);
  }

  getWeights() {
    this.#record('getWeights', []);
    return this.inner.getWeights();
  }

  setWeights(weights: Parameters<LinearLearner['setWeights']>[0]) {
    this.#record('setWeights', [weights]);
    this.inner.setWeights(weights);
  }

  /** Resolves with the round number once a training that is not yet finished completes. */
  nextTrained(ms = 15_000): Promise<number> {
    return withTimeout(
      new Promise<number>((resolve) => this.#trained.push(resolve)),
      ms,
      'the honest learner did not finish a training',
    );
  }

  /** Resolves with the round number when the next training starts. */
  nextTrainStart(ms = 15_000): Promise<number> {
    return withTimeout(
      new Promise<number>((resolve) => this.#started.push(resolve)),
      ms,
      'the honest learner did not start a training',
    );
  }

  /** Whether any call reached this learner from someone other than `trainer`. */
  callsFromOthers(trainer = 'trainer') {
    return this.calls.filter((c) => c.caller !== trainer);
  }
}

/** Counts the server's pings as they reach a learner's socket: each is proof the link was still up when it was sent. */
export class PingCounter {
  count = 0;
  readonly #codec = new Codec();
  readonly #waiters: { at: number; resolve: () => void }[] = [];

  /** A `watchProgress` for joinFederation's link options that also watches the socket's messages. */
  readonly watch = (socket: WebSocketLike, listener: (arriving: number) => void): void => {
    watchWsProgress(socket, listener);
    (socket as unknown as WebSocket).on('message', (data: Buffer) => {
      let frame: Envelope;
      try {
        frame = this.#codec.decode(new Uint8Array(data));
      } catch {
        return;
      }
      if (frame.kind !== 'ping') return;
      this.count += 1;
      for (let i = this.#waiters.length - 1; i >= 0; i--)
        if (this.count >= this.#waiters[i]!.at) this.#waiters.splice(i, 1)[0]!.resolve();
    });
  };

  /** Resolves once `n` more pings have arrived. */
  more(n: number, ms = 15_000): Promise<void> {
    const at = this.count + n;
    return withTimeout(
      new Promise<void>((resolve) => this.#waiters.push({ at, resolve })),
      ms,
      `fewer than ${n} more pings reached the learner`,
    );
  }
}

export interface HonestMember {
  member: FederationMember;
  learner: HonestLearner;
  pings: PingCounter;
  /** Every time the learner's link to the trainer dropped, with why. */
  drops: string[];
}

/** Joins `url` as an honest learner with joinFederation: a real Node learner over WebSocket. */
export async function joinHonest(
  url: string,
  id: string,
  token: string | undefined,
  options: {
    seed?: number;
    trainMs?: number;
    learner?: Learner | object;
    heartbeat?: { interval: number; timeout: number };
  } = {},
): Promise<HonestMember & { close(): void }> {
  const learner = new HonestLearner(options.seed ?? 1, options.trainMs);
  const pings = new PingCounter();
  const member = await joinFederation({
    url,
    id,
    learner: options.learner ?? learner,
    ...(token === undefined ? {} : { token }),
    // Bounded: a learner that cannot get in (the server died) fails the test instead of retrying forever.
    retry: { initialDelay: 20, maxDelay: 200, maxAttempts: 40 },
    heartbeat: options.heartbeat ?? { interval: 200, timeout: 1_000 },
    link: { watchProgress: pings.watch },
  });
  const drops: string[] = [];
  member.node.events.on('PEER_DISCONNECTED', (_peer, reason) => drops.push(reason));
  return { member, learner, pings, drops, close: () => member.close() };
}

/** Uncaught exceptions and unhandled rejections of this process while `body` runs: none may escape a link. */
export async function escapes<T>(body: () => Promise<T>): Promise<{ value: T; escaped: unknown[] }> {
  const escaped: unknown[] = [];
  const record = (error: unknown) => void escaped.push(error);
  process.on('uncaughtException', record).on('unhandledRejection', record);
  try {
    return { value: await body(), escaped };
  } finally {
    process.off('uncaughtException', record).off('unhandledRejection', record);
  }
}
