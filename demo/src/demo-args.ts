import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * The demo's command line: every flag it takes, in one table that `parseArgs` and the README
 * checker (scripts/readme) both read, so the README names no flag the demo refuses.
 */
export const DEMO_OPTIONS = {
  clients: { type: 'string' },
  fraction: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  rounds: { type: 'string' },
  lr: { type: 'string' },
  iid: { type: 'boolean' },
  noniid: { type: 'boolean' },
  seed: { type: 'string' },
  strategy: { type: 'string' },
  mu: { type: 'string' },
  async: { type: 'boolean' },
  secure: { type: 'boolean' },
  concurrency: { type: 'string' },
  buffer: { type: 'string' },
  slow: { type: 'string' },
  mode: { type: 'string' },
  workers: { type: 'string' },
  aggregators: { type: 'string' },
  port: { type: 'string' },
  signalling: { type: 'string' },
  token: { type: 'string' },
  page: { type: 'boolean' },
  'trainer-tab': { type: 'boolean' },
  'node-learners': { type: 'boolean' },
  dashboard: { type: 'boolean' },
  'dashboard-port': { type: 'string' },
  'admin-token': { type: 'string' },
  'min-clients': { type: 'string' },
  checkpoint: { type: 'string' },
  heartbeat: { type: 'string' },
  fedsgd: { type: 'boolean' },
  target: { type: 'string' },
  json: { type: 'string' },
  config: { type: 'string' },
  'train-size': { type: 'string' },
  'test-size': { type: 'string' },
  backend: { type: 'string' },
  'dp-noise': { type: 'string' },
  'dp-clip': { type: 'string' },
  'dp-delta': { type: 'string' },
  'dp-budget': { type: 'string' },
  'dp-mode': { type: 'string' },
  codec: { type: 'string' },
  'codec-down': { type: 'string' },
  'topk-fraction': { type: 'string' },
  'topk-warmup': { type: 'string' },
  'topk-warmup-from': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export type DemoArgs = ReturnType<typeof parseArgs<{ options: typeof DEMO_OPTIONS }>>['values'];

/**
 * The flags in `argv`, or the one line that says what is wrong with them (an unknown flag, a
 * missing value, a stray argument): parseArgs' own first sentence, and where the list is.
 */
export function parseDemoArgs(argv: readonly string[]): { values: DemoArgs } | { error: string } {
  try {
    return { values: parseArgs({ args: [...argv], options: DEMO_OPTIONS }).values };
  } catch (error) {
    const sentence = (error instanceof Error ? error.message : String(error)).split('. ')[0];
    return { error: `${sentence} (npm run demo -- --help lists the options)` };
  }
}
