import { modeConformance, type Mode } from '../../core/src/fl/mode-conformance.test-support.js';
import { spawnLearners } from './spawn-learners.js';

const webWorkers: Mode = {
  name: 'Web Workers: learners in workers of this Chromium tab, two learners sharing one worker',
  async join(trainer, count) {
    const createWorker = () =>
      new Worker(new URL('./fixtures/linear-learner.worker.ts', import.meta.url), { type: 'module' });
    const learners = await spawnLearners({ trainer, count, workers: 2, createWorker });
    return () => learners.terminate();
  },
};

modeConformance([webWorkers]);
