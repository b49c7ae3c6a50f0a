import { joinInMemory, Node } from '@oiafed/core';
import { createBirpc } from 'birpc';
import { interleaved, writeSuite, type BenchResult } from './harness.js';

interface Calc {
  add(a: number, b: number): number;
}

/** A pair of in-process message ends that deliver one microtask later: what our memory link does. */
function microtaskChannel() {
  let toA: (data: unknown) => void = () => undefined;
  let toB: (data: unknown) => void = () => undefined;
  return {
    a: {
      post: (data: unknown) => queueMicrotask(() => toB(data)),
      on: (fn: (data: unknown) => void) => void (toA = fn),
    },
    b: {
      post: (data: unknown) => queueMicrotask(() => toA(data)),
      on: (fn: (data: unknown) => void) => void (toB = fn),
    },
  };
}

export async function memorySuite(quick: boolean): Promise<void> {
  const calc: Calc = { add: (a, b) => a + b };
  const direct = { add: async (a: number, b: number) => a + b };

  const trainer = new Node({ id: 'trainer' });
  const learner = new Node({ id: 'learner' });
  await joinInMemory(trainer, learner);
  learner.serve(calc);
  const ours = trainer.proxy<Calc>('learner');

  const channel = microtaskChannel();
  createBirpc<object, Calc>(calc, channel.b);
  const birpc = createBirpc<Calc, object>({}, channel.a);

  const batch = quick ? 2_000 : 20_000;
  const samples = quick ? 7 : 25;
  const t = await interleaved(
    {
      direct: () => direct.add(1, 2),
      ours: () => ours.add(1, 2),
      birpc: () => birpc.add(1, 2),
    },
    { batch, samples },
  );

  // Events: a burst of one-way events, timed until the receiver has handled the last one.
  const burst = quick ? 20_000 : 200_000;
  let received = 0;
  let done: () => void = () => undefined;
  learner.on('tick', () => {
    if (++received === burst) done();
  });
  const eventRuns: number[] = [];
  for (let run = 0; run < (quick ? 3 : 7); run++) {
    received = 0;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const start = process.hrtime.bigint();
    for (let i = 0; i < burst; i++) trainer.emit('learner', 'tick', i);
    await finished;
    eventRuns.push(burst / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  eventRuns.sort((a, b) => a - b);
  trainer.close();
  learner.close();

  const us = (ns: number) => ns / 1000;
  const ratio = t.ours!.median / t.birpc!.median;
  const results: BenchResult[] = [
    {
      id: 'direct.call',
      median: us(t.direct!.median),
      unit: 'us',
      samples: t.direct!.samples,
      note: 'awaited async function call',
    },
    {
      id: 'birpc.call.small',
      median: us(t.birpc!.median),
      unit: 'us',
      ratio: t.birpc!.median / t.direct!.median,
      vs: 'direct.call',
      samples: t.birpc!.samples,
    },
    {
      id: 'memory.call.small',
      median: us(t.ours!.median),
      unit: 'us',
      ratio,
      vs: 'birpc.call.small',
      target: 'ratio <= 1.0 and median < 3 us',
      met: ratio <= 1.0 && us(t.ours!.median) < 3,
      samples: t.ours!.samples,
    },
    {
      id: 'memory.call.small.vs.direct',
      median: us(t.ours!.median),
      unit: 'us',
      ratio: t.ours!.median / t.direct!.median,
      vs: 'direct.call',
    },
    {
      id: 'memory.event.throughput',
      median: eventRuns[eventRuns.length >> 1]!,
      unit: 'events/s',
      samples: eventRuns.length,
    },
  ];
  writeSuite('memory', results, [
    'memory.call.small: trainer.proxy(learner).add(1, 2) over a non-strict in-memory link, default node options (heartbeat on, 30 s call timeout).',
    'birpc.call.small: birpc 4 over a channel that delivers one microtask later, as our memory link does; same process, samples interleaved.',
  ]);
}
