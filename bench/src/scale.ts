import { readFileSync } from 'node:fs';
import { writeSuite, type BenchResult } from './harness.js';
import { broadcastFigures, type BroadcastOptions } from './scale-broadcast.js';
import { manyClients, rawSocketMemory } from './scale-clients.js';
import { hierFigures, type HierOptions } from './scale-hier.js';
import { spreadOf } from './spread.js';

/**
 * Suite `scale`: one trainer process against thousands of WebSocket learners in other processes
 * (round time, memory per client, missed heartbeats), and a 16 MiB model broadcast to a thousand
 * of them against raw ws.
 */
export async function scaleSuite(quick: boolean): Promise<void> {
  const count = quick ? 1_000 : 10_000;
  const interval = quick ? 1_000 : 5_000;
  const swarms = quick ? 2 : 4;
  const hierOptions: HierOptions = {
    count,
    aggregators: 8,
    swarms,
    interval,
    rounds: 3,
    pairs: quick ? 2 : 3,
  };
  // OIAFED_SCALE_ONLY=hier or =broadcast: only those figures, put in place of the last run's in
  // scale.json (the others kept).
  const only = process.env.OIAFED_SCALE_ONLY;
  if (only === 'hier' || only === 'broadcast') {
    const figures =
      only === 'hier' ? await hierFigures(hierOptions) : await broadcastFigures(broadcastRuns(quick));
    partOnly(only, figures);
    return;
  }
  const rawMemory = await rawSocketMemory(count, swarms);
  const clients = await manyClients({ count, swarms, interval, rounds: quick ? 2 : 3 });
  const broadcast = await broadcastFigures(broadcastRuns(quick));
  const hier = await hierFigures(hierOptions);
  const rounds = spreadOf(clients.roundMs);
  const perClientKiB = clients.perClient / 1024;
  const results: BenchResult[] = [
    {
      id: `ws.clients.${count}`,
      median: rounds.median,
      unit: 'ms per FedAvg round',
      samples: clients.roundMs.length,
      note: `rounds ${clients.roundMs.join(', ')} ms; ${count} learners in ${swarms} processes, heartbeat ${interval} ms (timeout ${3 * interval}); all joined in ${(clients.joinMs / 1000).toFixed(0)} s; ${clients.rttSeen} had answered pings`,
    },
    {
      id: `raw.ws.clients.${count}.memory`,
      median: rawMemory / 1024,
      unit: 'KiB per socket',
      note: 'a plain ws server holding as many sockets (perMessageDeflate off), same measure',
    },
    {
      id: `ws.clients.${count}.trainer_memory`,
      median: perClientKiB,
      unit: 'KiB per client',
      ratio: clients.perClient / rawMemory,
      vs: `raw.ws.clients.${count}.memory`,
      target: '<= 8 KiB',
      met: perClientKiB <= 8,
      note: `heap + external after all joined, minus before, per client (process RSS grew ${(clients.rssPerClient / 1024).toFixed(1)} KiB per client)`,
    },
    {
      id: `ws.clients.${count}.heartbeat_missed`,
      median: clients.missed,
      unit: 'clients declared dead',
      target: '0',
      met: clients.missed === 0,
    },
    ...broadcast.results,
    ...hier.results,
  ];
  writeSuite('scale', results, [
    `Loopback, one trainer process; learners in ${swarms} other Node processes, each learner a joinFederation on its own WebSocket. The machine has 2 cores shared with other work: round times are wall-clock and move with its load; the memory figure does not.`,
    'Memory per client: the trainer process after two forced collections, heap used + external, with every learner joined, minus the same before any joined, over the number of learners. The raw ws figure is the same measure for a plain ws server holding as many sockets from the same kind of processes.',
    ...hier.notes,
    ...broadcast.notes,
  ]);
}

/**
 * The issue names ws.broadcast16m.1000: 16 GiB through loopback per sample, about 20 s each on
 * this machine, so the full run gives it 20 minutes of pairs; 100 learners, a minute. Two sink
 * processes: the machine has two cores.
 */
function broadcastRuns(quick: boolean): Omit<BroadcastOptions, 'now'>[] {
  const minute = 60_000;
  return quick
    ? [{ count: 100, processes: 2, minPairs: 3, budgetMs: 0 }]
    : [
        { count: 100, processes: 2, minPairs: 3, budgetMs: minute },
        { count: 1_000, processes: 2, minPairs: 3, budgetMs: 20 * minute },
      ];
}

/** The parts a run may measure alone, their ids, and where their notes begin. */
const PARTS = {
  hier: { label: 'hier.*', ids: /^hier\./, note: 'hier.' },
  broadcast: { label: '*ws.broadcast16m.*', ids: /^(raw\.)?ws\.broadcast16m\./, note: 'ws.broadcast16m' },
};
type Part = keyof typeof PARTS;
const OTHERS = /^Figures other than .* are from the run of (\S+?Z)[;.]/;
const ALONE = /\(OIAFED_SCALE_ONLY=(\w+)\) on ([\dT:.-]+Z|the date above)/g;

/**
 * One part's figures alone, in place of that part's in the last scale.json, keeping the others;
 * the notes keep saying which figures came from which run.
 */
function partOnly(part: Part, figures: { results: BenchResult[]; notes: string[] }): void {
  const file = new URL('../results/scale.json', import.meta.url);
  const last = JSON.parse(readFileSync(file, 'utf8')) as {
    date: string;
    results: BenchResult[];
    notes: string[];
  };
  // When each part measured alone since the whole run was (that file's date: the last to be).
  const alone = new Map<Part, string>();
  let since = last.date;
  const dated = (n: string) => OTHERS.test(n) || n.match(ALONE) !== null;
  for (const n of last.notes.filter(dated)) {
    since = OTHERS.exec(n)?.[1] ?? since;
    for (const [, p, d] of n.matchAll(ALONE)) alone.set(p as Part, d === 'the date above' ? last.date : d!);
  }
  alone.delete(part);
  alone.set(part, new Date().toISOString());
  const { ids, note } = PARTS[part];
  const labels = [...alone.keys()].map((p) => PARTS[p].label);
  writeSuite('scale', inPlace(last.results, ids, figures.results), [
    ...last.notes.filter((n) => !n.startsWith(note) && !dated(n)),
    ...figures.notes,
    `Figures other than ${labels.join(' and ')} are from the run of ${since}.`,
    ...[...alone].map(
      ([p, d]) => `${PARTS[p].label} were measured on their own (OIAFED_SCALE_ONLY=${p}) on ${d}.`,
    ),
  ]);
}

/** `results` with the rows `ids` matches replaced by `fresh`, where the first of them was. */
function inPlace(results: BenchResult[], ids: RegExp, fresh: BenchResult[]): BenchResult[] {
  const at = results.findIndex((r) => ids.test(r.id));
  const kept = results.filter((r) => !ids.test(r.id));
  if (at < 0) return [...kept, ...fresh];
  const before = results.slice(0, at).filter((r) => !ids.test(r.id)).length;
  return [...kept.slice(0, before), ...fresh, ...kept.slice(before)];
}
