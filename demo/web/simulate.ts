// The one-tab simulation page: choose the federation, watch it train. From the query string (the
// form's fields, for links and tests): ?learners=100&split=iid&strategy=fedavg&rounds=5&where=memory
//   [&trainSize=8000&testSize=2000&seed=1&workers=2&aggregators=2&autostart]
import { STRATEGY_NAMES, type StrategyName } from '@oiafed/core';
import { localFeed, mountDashboard } from '@oiafed/dashboard';
import { log, queryNumber, startPage } from './page-setup.js';
import { startTabSimulation, type TabSimulation, type TabSimulationOptions } from './tab-simulation.js';

const q = new URLSearchParams(location.search);
const $ = (id: string) => document.getElementById(id)!;
const startButton = () => $('start') as HTMLButtonElement;
const form = $('setup') as HTMLFormElement;
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;

for (const name of STRATEGY_NAMES)
  $('strategies').append(Object.assign(document.createElement('option'), { value: name, textContent: name }));
for (const name of ['learners', 'split', 'strategy', 'rounds', 'where']) {
  const value = q.get(name);
  if (value !== null) field(name).value = value;
}

const state = (text: string, style: string) => {
  $('state').textContent = text;
  $('state').dataset.state = style;
};

const digits = await startPage();
state('ready', 'registered');

function chosen(): TabSimulationOptions {
  const learners = Number(field('learners').value);
  const oneOf = <T extends string>(name: string, values: readonly T[]): T => {
    const value = field(name).value as T;
    if (!values.includes(value)) throw new Error(`${name} must be one of ${values.join(', ')}`);
    return value;
  };
  if (!Number.isInteger(learners) || learners < 10 || learners > 1_000)
    throw new Error('learners must be a whole number from 10 to 1,000');
  const workers = queryNumber(q, 'workers', 0);
  const aggregators = queryNumber(q, 'aggregators', 0);
  return {
    clients: learners,
    fraction: 1,
    epochs: 1,
    batchSize: 10,
    rounds: Number(field('rounds').value),
    lr: 0.05,
    seed: queryNumber(q, 'seed', 1),
    strategy: oneOf<StrategyName>('strategy', STRATEGY_NAMES),
    mu: 0.01,
    async: false,
    split: oneOf('split', ['iid', 'noniid'] as const),
    where: oneOf('where', ['memory', 'workers'] as const),
    trainSize: queryNumber(q, 'trainSize', 8_000),
    testSize: queryNumber(q, 'testSize', 2_000),
    slow: 0,
    ...(workers > 0 ? { workers } : {}),
    ...(aggregators > 0 ? { aggregators } : {}),
  };
}

async function run(): Promise<void> {
  const options = chosen();
  startButton().disabled = true;
  state('starting learners', 'training');
  log(
    `${options.clients} learners (${options.split}) in ${options.where === 'memory' ? "this tab's memory" : 'Web Workers'}${options.aggregators ? ` under ${options.aggregators} aggregators` : ''}, ${options.strategy}, ${options.rounds} rounds`,
  );
  const simulation: TabSimulation = await startTabSimulation(
    digits,
    options,
    () => new Worker(new URL('./simulate.worker.ts', import.meta.url), { type: 'module' }),
  );
  Object.assign(globalThis, { oiafedSimulation: simulation });
  showRounds(simulation);
  state('training', 'training');
  const result = await simulation.done;
  state(`done: ${result.reason}`, 'finished');
  log(`done after ${result.rounds} rounds (${result.reason})`);
}

/** The same dashboard `oiafed serve` serves, fed by the federation in this tab; one line per round in the log. */
function showRounds({ federation }: TabSimulation): void {
  // Left showing once the run ends: its feed only refreshes while the run goes on.
  $('dashboard').replaceChildren();
  mountDashboard($('dashboard'), localFeed(federation), { title: 'A federation in this tab' });
  federation.events.on('ROUND_FINISHED', (s) =>
    log(
      `round ${s.round}: ${s.results}/${s.clients.length} learners, test accuracy ${(s.evalMetrics.accuracy ?? NaN).toFixed(4)}, ${(s.timings.totalMs / 1000).toFixed(1)} s`,
    ),
  );
}

const start = () =>
  run().catch((error: unknown) => {
    state('failed', 'failed');
    log(`failed: ${(error as Error).message}`);
    startButton().disabled = false;
  });
form.addEventListener('submit', (event) => {
  event.preventDefault();
  void start();
});
if (q.has('autostart')) void start();
