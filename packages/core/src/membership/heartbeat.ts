import { refTimer, systemClock, type Clock } from '../wire/clock.js';

export interface HeartbeatOptions {
  /** How often each link is pinged, ms. */
  interval: number;
  /** A link silent for longer than this is dead, ms. */
  timeout: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { interval: 30_000, timeout: 90_000 };

/**
 * Something whose liveness is watched. Receiving sets `heard` (cheaper than reading the clock on
 * every frame); each tick turns a `heard` into a fresh `lastSeen`.
 */
export interface Watched {
  lastSeen: number;
  heard?: boolean;
}

export interface HeartbeatHooks<W extends Watched> {
  ping(watched: W, now: number): void;
  dead(watched: W, silentFor: number): void;
}

/**
 * One timer for all the links of a node. Each tick pings every link and declares dead those silent
 * past the timeout. Time is read from the clock, not counted in ticks: if the tick itself came late
 * (a throttled background tab, a paused process), the time this side was not watching is not held
 * against the peer.
 */
export class Heartbeat<W extends Watched> {
  readonly options: HeartbeatOptions;
  readonly #watched = new Set<W>();
  readonly #hooks: HeartbeatHooks<W>;
  readonly #clock: Clock;
  #timer: unknown;
  #lastTick = 0;

  constructor(options: HeartbeatOptions, hooks: HeartbeatHooks<W>, clock: Clock = systemClock) {
    if (!(options.interval > 0) || !(options.timeout > options.interval)) {
      throw new RangeError(
        `heartbeat needs 0 < interval < timeout (got ${options.interval} / ${options.timeout})`,
      );
    }
    this.options = options;
    this.#hooks = hooks;
    this.#clock = clock;
  }

  watch(watched: W): void {
    watched.lastSeen = this.#clock.now();
    this.#watched.add(watched);
    if (this.#timer === undefined) {
      this.#lastTick = this.#clock.now();
      this.#arm();
    }
  }

  unwatch(watched: W): void {
    this.#watched.delete(watched);
    if (this.#watched.size === 0) this.stop();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One timer re-armed each tick (the clock has no interval): the ticks stay `interval` apart. */
  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.tick();
    }, this.options.interval);
    refTimer(this.#timer, false);
  }

  tick(): void {
    const now = this.#clock.now();
    const asleep = now - this.#lastTick - this.options.interval;
    this.#lastTick = now;
    for (const w of this.#watched) {
      if (w.heard) {
        w.heard = false;
        w.lastSeen = now;
      }
      // Credit the peer with the time we overslept: it may have spoken and we could not listen.
      if (asleep > this.options.interval) w.lastSeen = Math.min(now, w.lastSeen + asleep);
      const silent = now - w.lastSeen;
      if (silent > this.options.timeout) {
        this.#watched.delete(w);
        this.#hooks.dead(w, silent);
      } else {
        this.#hooks.ping(w, now);
      }
    }
    if (this.#watched.size === 0) this.stop();
    else if (this.#timer === undefined) this.#arm();
  }
}
