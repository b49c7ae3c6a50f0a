import { fileURLToPath } from 'node:url';
import { expect } from '@playwright/test';
import { LineProcess } from '../../packages/node/src/line-process.test-support.js';

const demo = fileURLToPath(new URL('../../demo', import.meta.url));

/** The MNIST slice the end-to-end runs train on: the trainer's flags and the learner tabs' query say the same. */
export interface DemoData {
  seed: string;
  trainSize: string;
  testSize: string;
  split: 'iid';
}

export const demoData = (trainSize = '3000'): DemoData => ({
  seed: '1',
  trainSize,
  testSize: '500',
  split: 'iid',
});

/**
 * The demo trainer's flags for a run on `data` with a 1 s heartbeat (tests see a closed tab within
 * seconds), listening on a free port unless `more` names one.
 */
export function demoTrainerArgs(data: DemoData, more: string[]): string[] {
  const port = more.includes('--port') ? [] : ['--port', '0'];
  return [
    ...more,
    ...port,
    '--train-size',
    data.trainSize,
    '--test-size',
    data.testSize,
    '--seed',
    data.seed,
    '--heartbeat',
    '1000',
  ];
}

/** The demo trainer as a real process (`npm run demo -- --mode websocket ...`). */
export class TrainerProcess extends LineProcess {
  constructor(args: string[], mode: 'websocket' | 'webrtc' = 'websocket') {
    super(['--import', 'tsx', '--conditions=source', 'src/cli.ts', '--mode', mode, ...args], {
      cwd: demo,
      verbose: process.env.OIAFED_E2E_VERBOSE && 'trainer',
    });
  }

  /** Where learners reach it: its ws:// URL, or in webrtc mode its signalling server's http:// URL. */
  async listening(): Promise<string> {
    const [, url] = await this.waitFor(/trainer listening on ((?:ws|http):\/\/[^\s;]+)/);
    return url!;
  }

  /** Resolves once it reports learner `id` gone, failing unless that is within `ms` of `closedAt`. */
  async sawDisconnect(id: string, closedAt: number, ms: number): Promise<void> {
    await this.waitFor(new RegExp(`learner ${id} disconnected`), ms);
    expect(Date.now() - closedAt).toBeLessThan(ms);
  }
}
