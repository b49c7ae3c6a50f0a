import type { Clock, Federation, FederationState } from '@oiafed/core';

/** Where progress goes: a terminal (`isTTY`) gets one updating line, anything else plain lines. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface FederationProgressOptions {
  /** One line redrawn in place (a terminal), or plain lines. Default: `stream.isTTY`. */
  live?: boolean;
  /** A live line is redrawn at most this often, ms (default 100); the latest count is drawn when it ends. */
  interval?: number;
  /**
   * Plain lines: one when a count crosses each `1/steps` of its goal (default 4), so a wait for
   * 1,000 learners or a round of 1,000 results takes a handful of lines, not a thousand.
   */
  steps?: number;
  /** What a round is called in the lines: 'version' under FedBuff (default 'round'). */
  round?: string;
  /** Where the live line's rate limit reads the time and arms its timer (tests drive it by hand). */
  clock?: Clock;
}

export interface FederationProgress {
  /** Writes a line of its own, above the live line (which is redrawn after it): the run's other news. */
  log(line: string): void;
  /** Stops following the run, and clears the live line. */
  close(): void;
}

/** What the run is doing that a count shows: waiting for learners, or a round collecting results. */
type Phase =
  | { kind: 'waiting'; count: number; goal: number }
  | { kind: 'round'; round: number; count: number; goal: number };

const samePhase = (a: Phase, b: Phase) =>
  a.kind === b.kind && (a.kind === 'waiting' || a.round === (b as typeof a).round);

const ENDED: ReadonlySet<FederationState> = new Set(['finished', 'stopped', 'failed']);
const CLEAR_LINE = '\r\x1b[2K';

const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Shows a run's progress on `stream` from its events: learners joining while it waits for them
 * (`waiting for learners: 37 of 100 joined`) and each round's results as they come (`round 3/10:
 * 12 of 50 results`). On a terminal that is one line, redrawn at most every `interval` ms and
 * cleared when the wait or the round is over; elsewhere (a log file, CI) a plain line each time a
 * count crosses a step. Write the run's other lines through `log()` so they do not break into it.
 */
export function showFederationProgress(
  federation: Federation,
  stream: ProgressStream,
  options: FederationProgressOptions = {},
): FederationProgress {
  const live = options.live ?? stream.isTTY === true;
  const interval = options.interval ?? 100;
  const steps = Math.max(1, Math.floor(options.steps ?? 4));
  const roundName = options.round ?? 'round';
  const clock = options.clock ?? systemClock;
  const rounds = federation.status().rounds;

  let phase: Phase | undefined;
  /** The live line on screen ('' when none). */
  let shown = '';
  let drawnAt = -Infinity;
  let timer: unknown;
  /** Plain lines: the step the phase's count was last reported at. */
  let reported = -1;

  const text = (p: Phase) =>
    p.kind === 'waiting'
      ? `waiting for learners: ${p.count} of ${p.goal} joined`
      : `${roundName} ${p.round}/${rounds}: ${p.count} of ${p.goal} results`;

  const draw = () => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    const line = phase ? text(phase) : '';
    if (line === shown) return;
    stream.write(line ? `${CLEAR_LINE}${line}` : CLEAR_LINE);
    shown = line;
    drawnAt = clock.now();
  };

  /** Live: draw now, or when the interval since the last drawing ends (the count shown then is the latest). */
  const redraw = () => {
    const wait = drawnAt + interval - clock.now();
    if (wait <= 0 || !phase) draw();
    else if (timer === undefined) {
      timer = clock.setTimeout(draw, wait);
      (timer as { unref?: () => void } | undefined)?.unref?.();
    }
  };

  /** Plain: a line when the count reaches a new step of its goal; a round's 0 and its last are left to its summary. */
  const report = (p: Phase) => {
    const size = Math.max(1, Math.ceil(p.goal / steps));
    const step = p.count >= p.goal ? steps : Math.floor(p.count / size);
    if (step === reported) return;
    reported = step;
    const roundEnds = p.kind === 'round' && (p.count === 0 || p.count >= p.goal);
    if (!roundEnds) stream.write(`${text(p)}\n`);
  };

  /** Moves to `next` (undefined: nothing to show); a new wait or round counts its steps afresh. */
  const update = (next: Phase | undefined) => {
    if (next && !(phase && samePhase(phase, next))) reported = -1;
    phase = next;
    if (live) redraw();
    else if (phase) report(phase);
  };

  const waiting = ({ joined, needed }: { joined: number; needed: number }) => {
    const next: Phase = { kind: 'waiting', count: joined, goal: needed };
    // Once the wait is over, plain output says so (its last step); then there is nothing to show.
    if (joined < needed || !live) update(next);
    if (joined >= needed) update(undefined);
  };
  const started = ({ round, target }: { round: number; target: number }) =>
    update({ kind: 'round', round, count: 0, goal: target });
  const result = ({ round, results }: { round: number; results: number }) => {
    if (phase?.kind === 'round' && phase.round === round) update({ ...phase, count: results });
  };
  const over = () => update(undefined);
  const state = (now: FederationState) => {
    if (ENDED.has(now)) update(undefined);
  };
  federation.events
    .on('WAITING_FOR_LEARNERS', waiting)
    .on('ROUND_STARTED', started)
    .on('CLIENT_RESULT', result)
    .on('ROUND_FINISHED', over)
    .on('ROUND_FAILED', over)
    .on('STATE_CHANGED', state);

  return {
    log(line) {
      if (!live) {
        stream.write(`${line}\n`);
        return;
      }
      if (shown) stream.write(CLEAR_LINE);
      stream.write(`${line}\n`);
      shown = '';
      if (phase) draw();
    },
    close() {
      federation.events
        .off('WAITING_FOR_LEARNERS', waiting)
        .off('ROUND_STARTED', started)
        .off('CLIENT_RESULT', result)
        .off('ROUND_FINISHED', over)
        .off('ROUND_FAILED', over)
        .off('STATE_CHANGED', state);
      phase = undefined;
      if (live) draw();
    },
  };
}
