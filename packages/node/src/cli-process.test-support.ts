import { fileURLToPath } from 'node:url';
import { LineProcess } from './line-process.test-support.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** A script of this package (a path relative to src) as a process of its own, run from the sources under tsx. */
export const tsxProcess = (script: string, ...args: string[]) =>
  new LineProcess(['--import', 'tsx', '--conditions=source', script, ...args], { cwd: here });

/** `oiafed ...` as a process. */
export const oiafed = (...args: string[]) => tsxProcess('cli.ts', ...args);

/** A learner in a process of its own (fixtures/learner-process.fixture.ts): it joins, trains, and exits on its own. */
export const learnerProcess = (...args: string[]) =>
  tsxProcess('fixtures/learner-process.fixture.ts', ...args);
