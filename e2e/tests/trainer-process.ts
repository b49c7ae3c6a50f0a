import { fileURLToPath } from 'node:url';
import { LineProcess } from '../../packages/node/src/line-process.test-support.js';

const demo = fileURLToPath(new URL('../../demo', import.meta.url));

/** The demo trainer as a real process (`npm run demo -- --mode websocket ...`). */
export class TrainerProcess extends LineProcess {
  constructor(args: string[], mode: 'websocket' | 'webrtc' = 'websocket') {
    super(['--import', 'tsx', '--conditions=source', 'src/cli.ts', '--mode', mode, ...args], {
      cwd: demo,
      verbose: process.env.OIAFED_E2E_VERBOSE && 'trainer',
    });
  }
}
