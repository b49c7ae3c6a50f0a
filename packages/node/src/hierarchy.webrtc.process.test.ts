// Leaves over WebRTC data channels under aggregators that are `oiafed serve` processes. Needs the
// network namespace: sh scripts/netns-run.sh pnpm exec vitest run --project node <this file>
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteError, type FederationMember, type OiafedError } from '@oiafed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { flatFedAvgRun } from '../../core/src/fl/hierarchy.test-support.js';
import { LinearLearner, linearData } from '../../core/src/fl/linear-learner.test-support.js';
import { expectEndedAtFlat } from './hierarchy-end.test-support.js';
import { joinFederation } from './join-federation.js';
import { LineProcess } from './line-process.test-support.js';
import { takenPort } from './ports.test-support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'oiafed-hier-webrtc-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const oiafed = (config: string) =>
  new LineProcess(['--import', 'tsx', '--conditions=source', 'cli.ts', 'serve', config], { cwd: here });

const LEARNERS = 6;
const AGGREGATORS = 2;
const dataOf = (i: number) => linearData(i + 1, 20 + i);

async function freePorts(n: number): Promise<number[]> {
  const taken = await Promise.all(Array.from({ length: n }, () => takenPort()));
  await Promise.all(taken.map(({ server }) => new Promise((resolve) => server.close(resolve))));
  return taken.map(({ port }) => port);
}

async function config(name: string, lines: string[]): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, [...lines, ''].join('\n'));
  return file;
}

describe('hierarchical federation, leaves over WebRTC under aggregator processes', () => {
  it("a root and 2 aggregator processes serving their learners over data channels (one starts the signalling server, the other uses it): FedAvg ends at the flat run's weights within 1e-5, and a leaf reaches neither the root nor a sibling", async () => {
    const flatRun = await flatFedAvgRun(
      Array.from({ length: LEARNERS }, (_, i) => new LinearLearner(dataOf(i))),
      3,
    );

    const [rootPort, signallingPort] = await freePorts(2);
    const checkpoint = join(dir, 'root.checkpoint');
    const root = oiafed(
      await config('root', [
        'node: { id: root }',
        `transport: { mode: websocket, port: ${rootPort} }`,
        'federation:',
        `  checkpoint: ${checkpoint}`,
        '  train: { lr: 0.05 }',
        '  rounds: 3',
        `  minClients: ${AGGREGATORS}`,
      ]),
    );
    const signalling = `http://127.0.0.1:${signallingPort}/`;
    const aggregators: LineProcess[] = [];
    const members: FederationMember[] = [];
    try {
      await root.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+/, 60_000);
      // Aggregator-0 starts the signalling server (transport.port); aggregator-1 meets its
      // learners there (transport.url).
      const transports = [
        `transport: { mode: webrtc, port: ${signallingPort} }`,
        `transport: { mode: webrtc, url: '${signalling}' }`,
      ];
      for (const [k, transport] of transports.entries()) {
        const process = oiafed(
          await config(`aggregator-${k}`, [
            `node: { id: aggregator-${k}, role: aggregator, parent: ws://127.0.0.1:${rootPort} }`,
            transport,
            'federation:',
            `  minClients: ${LEARNERS / AGGREGATORS}`,
          ]),
        );
        aggregators.push(process);
        // In turn: aggregator-1 needs the signalling server aggregator-0 starts.
        await process.waitFor(/^joined parent root/, 60_000);
      }
      expect(aggregators[0]!.lines.join('\n')).toMatch(
        /aggregator aggregator-0 serving http:\/\/127\.0\.0\.1:\d+\/ \(WebRTC signalling; trainer peer aggregator-0\)/,
      );
      members.push(
        ...(await Promise.all(
          Array.from({ length: LEARNERS }, (_, i) =>
            joinFederation({
              signalling,
              trainer: `aggregator-${i % AGGREGATORS}`,
              id: `learner-${i}`,
              learner: new LinearLearner(dataOf(i)),
              // A data channel opens in about a second or hangs: try again after 5 s (see webrtc.test.ts).
              link: { timeout: 5_000 },
              retry: { initialDelay: 20, maxDelay: 200 },
              joinTimeout: 90_000,
            }),
          ),
        )),
      );
      expect(members.map((m) => m.uplink.peer?.id)).toEqual(
        Array.from({ length: LEARNERS }, (_, i) => `aggregator-${i % AGGREGATORS}`),
      );

      // Learner-0 (at aggregator-0) over its data channel: its aggregator serves it no learner methods,
      // and the router sends nothing on to the root, a sibling, or the other aggregator and its learners.
      const hostile = members[0]!.node;
      const args = [{ round: 1, weights: flatRun.weights, config: {} }];
      const codeOf = (target: string) =>
        hostile.call(target, 'train', args, { timeout: 10_000 }).then(
          () => 'answered',
          (e: unknown) => (e instanceof RemoteError ? (e.remoteCode ?? e.code) : (e as OiafedError).code),
        );
      expect(await codeOf('aggregator-0')).toBe('METHOD_NOT_FOUND');
      for (const target of ['root', 'learner-2', 'learner-1', 'aggregator-1'])
        expect(`${target}: ${await codeOf(target)}`).toBe(`${target}: UNKNOWN_TARGET`);

      await root.waitFor(/^done: 3 of 3 rounds \(completed\)/, 120_000);
      expect(root.lines.some((l) => /^round 3\/3 {2}2\/2 learners/.test(l))).toBe(true);
      for (const a of aggregators) await a.waitFor(/^round 3 {2}3\/3 learners/, 10_000);
      // The run's end reaches the learners through their aggregators, over the data channels.
      await expectEndedAtFlat(checkpoint, flatRun, members, aggregators);
    } finally {
      members.forEach((m) => m.close());
      aggregators.forEach((a) => a.kill());
      root.kill();
    }
  }, 240_000);
});
