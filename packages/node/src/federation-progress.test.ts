import { Federation, joinInMemory, Node } from '@oiafed/core';
import { describe, expect, it } from 'vitest';
import { LinearLearner, linearData } from '../../core/src/fl/linear-learner.test-support.js';
import { ManualClock } from '../../core/src/test-support.js';
import { showFederationProgress, type FederationProgressOptions } from './federation-progress.js';

const CLEAR_LINE = '\r\x1b[2K';

/** A stream that keeps what is written to it, and when (on `clock`). */
class Capture {
  readonly writes: { text: string; at: number }[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly clock?: ManualClock,
  ) {}
  write(text: string): boolean {
    this.writes.push({ text, at: this.clock?.now() ?? 0 });
    return true;
  }
  get text(): string {
    return this.writes.map((w) => w.text).join('');
  }
}

/**
 * A real federation in memory mode with `count` linear learners, which join only once the
 * federation waits for them (so the wait shows), then `rounds` rounds selecting half of them.
 * `beside` is called at each progress event after the display has handled it (e.g. to move a clock).
 */
async function run(
  count: number,
  stream: Capture,
  options: FederationProgressOptions,
  beside: (event: 'joined' | 'result') => void = () => undefined,
) {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  const federation = new Federation({
    node: trainer,
    rounds: 2,
    minClients: count,
    selection: { fraction: 0.5 },
    minResults: count / 2 - 100, // at most what a fraction of 0.5 selects: it then selects half

    seed: 3,
    config: { lr: 0.05 },
  });
  const progress = showFederationProgress(federation, stream, options);
  federation.events.on('WAITING_FOR_LEARNERS', () => beside('joined'));
  federation.events.on('CLIENT_RESULT', () => beside('result'));
  const waited = federation.waitForClients(count, 60_000);
  const learners: Node[] = [];
  for (let i = 0; i < count; i++) {
    const learner = new Node({
      id: `learner-${String(i).padStart(4, '0')}`,
      role: 'learner',
      heartbeat: false,
    });
    learner.serve(new LinearLearner(linearData(i + 1, 4)));
    await joinInMemory(trainer, learner);
    learners.push(learner);
  }
  expect(await waited).toHaveLength(count);
  const result = await federation.start();
  progress.close();
  for (const learner of learners) learner.close();
  trainer.close();
  return result;
}

describe('showFederationProgress', () => {
  it('writes a handful of plain lines for 1,000 learners where there is no terminal: each quarter of the wait and of each round', async () => {
    const stream = new Capture(false);
    const result = await run(1_000, stream, {});
    expect(result.history.map((r) => r.results)).toEqual([500, 500]);
    // A round's 0 and its last result are left to the round's own line (its summary).
    expect(stream.text.split('\n').slice(0, -1)).toEqual([
      'waiting for learners: 0 of 1000 joined',
      'waiting for learners: 250 of 1000 joined',
      'waiting for learners: 500 of 1000 joined',
      'waiting for learners: 750 of 1000 joined',
      'waiting for learners: 1000 of 1000 joined',
      'round 1/2: 125 of 500 results',
      'round 1/2: 250 of 500 results',
      'round 1/2: 375 of 500 results',
      'round 2/2: 125 of 500 results',
      'round 2/2: 250 of 500 results',
      'round 2/2: 375 of 500 results',
    ]);
    expect(stream.text).not.toContain('\r');
  }, 60_000);

  it('keeps one line on a terminal, redrawn in place at most every 100 ms with the latest count, and cleared when the wait or round ends', async () => {
    const clock = new ManualClock();
    const stream = new Capture(true, clock);
    // Each join and each result takes 10 ms of the test's clock: 10 s of joining, 5 s per round.
    await run(1_000, stream, { clock }, () => clock.advance(10));
    const { writes } = stream;
    expect(writes.every((w) => w.text.startsWith(CLEAR_LINE) && !w.text.includes('\n'))).toBe(true);
    const shown = writes.map((w) => w.text.slice(CLEAR_LINE.length));
    // Three phases (the wait, two rounds), each drawn, then cleared.
    const phases: { text: string; at: number }[][] = [[]];
    for (const [i, text] of shown.entries()) {
      if (text === '') phases.push([]);
      else phases[phases.length - 1]!.push({ text, at: writes[i]!.at });
    }
    expect(phases.pop()).toEqual([]);
    expect(phases).toHaveLength(3);
    const [waiting, round1, round2] = phases as [(typeof phases)[0], (typeof phases)[0], (typeof phases)[0]];
    expect(waiting[0]!.text).toBe('waiting for learners: 0 of 1000 joined');
    // The last drawing is at most 100 ms (10 events) behind the end of its phase.
    const last = (phase: { text: string }[]) => Number(/: (\d+) of/.exec(phase.at(-1)!.text)![1]);
    expect(waiting.at(-1)!.text).toMatch(/^waiting for learners: \d+ of 1000 joined$/);
    expect(last(waiting)).toBeGreaterThanOrEqual(990);
    expect(round1.at(-1)!.text).toMatch(/^round 1\/2: \d+ of 500 results$/);
    expect(round2.at(-1)!.text).toMatch(/^round 2\/2: \d+ of 500 results$/);
    expect(last(round1)).toBeGreaterThanOrEqual(490);
    expect(last(round2)).toBeGreaterThanOrEqual(490);
    for (const phase of phases) {
      const counts = phase.map((p) => Number(/: (\d+) of/.exec(p.text)![1]));
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(new Set(counts).size).toBe(counts.length);
      // Never two drawings within 100 ms of each other.
      for (let i = 1; i < phase.length; i++)
        expect(phase[i]!.at - phase[i - 1]!.at).toBeGreaterThanOrEqual(100);
    }
    // 10 s of joins at one drawing per 100 ms; 5 s of results per round.
    expect(waiting.length).toBeGreaterThanOrEqual(95);
    expect(waiting.length).toBeLessThanOrEqual(101);
    expect(round1.length).toBeLessThanOrEqual(51);
    expect(round2.length).toBeLessThanOrEqual(51);
  }, 60_000);

  it("writes the run's other lines above the live line, which it then draws again", async () => {
    const clock = new ManualClock();
    const stream = new Capture(true, clock);
    const federation = new Federation({
      node: new Node({ id: 'trainer', role: 'trainer', heartbeat: false }),
      rounds: 3,
    });
    const progress = showFederationProgress(federation, stream, { clock, round: 'version' });
    progress.log('before anything');
    federation.events.emit('ROUND_STARTED', { round: 2, clients: [], target: 5 });
    progress.log('learner-7 joined');
    federation.events.emit('CLIENT_RESULT', {
      round: 2,
      client: 'learner-7',
      numExamples: 1,
      metrics: {},
      ms: 1,
      results: 1,
    });
    clock.advance(100);
    // A result of another round is not this round's.
    federation.events.emit('CLIENT_RESULT', {
      round: 1,
      client: 'learner-1',
      numExamples: 1,
      metrics: {},
      ms: 1,
      results: 4,
    });
    clock.advance(100);
    progress.close();
    expect(stream.writes.map((w) => w.text)).toEqual([
      'before anything\n',
      `${CLEAR_LINE}version 2/3: 0 of 5 results`,
      CLEAR_LINE,
      'learner-7 joined\n',
      `${CLEAR_LINE}version 2/3: 0 of 5 results`,
      `${CLEAR_LINE}version 2/3: 1 of 5 results`,
      CLEAR_LINE,
    ]);
  });
});
