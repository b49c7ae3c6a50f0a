// Starts a worker from TypeScript sources (the tests, or an app run with tsx): worker threads do
// not inherit `--import tsx`, so register tsx's loader here, then load the real entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
