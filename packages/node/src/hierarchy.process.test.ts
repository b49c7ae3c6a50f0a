import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FederationMember, type Learner, type TrainParams, type TrainResult } from '@oiafed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { flatFedAvgRun } from '../../core/src/fl/hierarchy.test-support.js';
import { LinearLearner, linearData } from '../../core/src/fl/linear-learner.test-support.js';
import { withTimeout } from '../../core/src/test-support.js';
import { expectEndedAtFlat } from './hierarchy-end.test-support.js';
import { joinFederation } from './join-federation.js';
import { LineProcess } from './line-process.test-support.js';
import { takenPort } from './ports.test-support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'oiafed-hier-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const oiafed = (config: string) =>
  new LineProcess(['--import', 'tsx', '--conditions=source', 'cli.ts', 'serve', config], { cwd: here });
const leafProcess = (...args: string[]) =>
  new LineProcess(['--import', 'tsx', '--conditions=source', 'fixtures/leaf-process.fixture.ts', ...args], {
    cwd: here,
  });

const LEARNERS = 40;
const AGGREGATORS = 4;
/** Learner i: 20 + i examples of its own, so the example weighting matters. */
const dataOf = (i: number) => linearData(i + 1, 20 + i);
/** Learner i's aggregator URLs: its home (i mod 4) first, then the siblings after it. */
const homesOf = (urls: readonly string[], i: number) => urls.map((_, k) => urls[(i + k) % urls.length]!);

/** `n` distinct ports nothing listens on (all held at once, then let go). */
async function freePorts(n: number): Promise<number[]> {
  const taken = await Promise.all(Array.from({ length: n }, () => takenPort()));
  await Promise.all(taken.map(({ server }) => new Promise((resolve) => server.close(resolve))));
  return taken.map(({ port }) => port);
}

/** A root and 4 aggregator processes (ports given), with their configs written. */
async function startTree(
  name: string,
  root: string[],
  aggregator: string[],
): Promise<{ root: LineProcess; aggregators: LineProcess[]; urls: string[]; checkpoint: string }> {
  const [rootPort, ...ports] = await freePorts(1 + AGGREGATORS);
  const checkpoint = join(dir, `${name}.checkpoint`);
  const rootConfig = join(dir, `${name}-root.yaml`);
  await writeFile(
    rootConfig,
    [
      `node: { id: root }`,
      `transport: { mode: websocket, port: ${rootPort} }`,
      `federation:`,
      `  checkpoint: ${checkpoint}`,
      `  train: { lr: 0.05 }`,
      ...root.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  const rootProcess = oiafed(rootConfig);
  await rootProcess.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+/, 60_000);
  const aggregators: LineProcess[] = [];
  for (const [i, port] of ports.entries()) {
    const config = join(dir, `${name}-aggregator-${i}.yaml`);
    await writeFile(
      config,
      [
        `node: { id: aggregator-${i}, role: aggregator, parent: ws://127.0.0.1:${rootPort} }`,
        `transport: { mode: websocket, port: ${port} }`,
        `federation:`,
        ...aggregator.map((line) => `  ${line}`),
        '',
      ].join('\n'),
    );
    aggregators.push(oiafed(config));
  }
  for (const a of aggregators) await a.waitFor(/^joined parent root/, 60_000);
  return { root: rootProcess, aggregators, urls: ports.map((p) => `ws://127.0.0.1:${p}`), checkpoint };
}

describe('hierarchical federation over WebSocket, aggregators as oiafed serve processes', () => {
  it("1 root and 4 aggregator processes, 40 learners: FedAvg ends at the flat run's weights within 1e-5", async () => {
    const flatRun = await flatFedAvgRun(
      Array.from({ length: LEARNERS }, (_, i) => new LinearLearner(dataOf(i))),
      3,
    );

    const tree = await startTree('equal', ['rounds: 3', `minClients: ${AGGREGATORS}`], ['minClients: 10']);
    const members: FederationMember[] = [];
    try {
      members.push(
        ...(await Promise.all(
          Array.from({ length: LEARNERS }, (_, i) =>
            joinFederation({
              url: homesOf(tree.urls, i),
              id: `learner-${i}`,
              learner: new LinearLearner(dataOf(i)),
              retry: { initialDelay: 20, maxDelay: 200 },
            }),
          ),
        )),
      );
      await tree.root.waitFor(/^done: 3 of 3 rounds \(completed\)/, 120_000);
      expect(tree.root.lines.some((l) => /^round 3\/3 {2}4\/4 learners/.test(l))).toBe(true);
      // The run's end reaches the learners through their aggregators, and the aggregators exit 0.
      await expectEndedAtFlat(tree.checkpoint, flatRun, members, tree.aggregators);
    } finally {
      members.forEach((m) => m.close());
      tree.aggregators.forEach((a) => a.kill());
      tree.root.kill();
    }
  }, 240_000);

  it('a leaf process and an aggregator process killed mid-round: the round completes with the rest, the orphans re-home and train in a later round', async () => {
    // Aggregators wait for 9: aggregator-1 goes on with 9 once learner 5 is killed.
    const tree = await startTree('kill', ['rounds: 4', 'minClients: 3', 'minResults: 2'], ['minClients: 9']);
    // Aggregator-2's own learners, and a gate: the learners' round-3 training waits until every
    // orphan has re-homed, so round 4 finds them at aggregator-3.
    const orphans = Array.from({ length: LEARNERS }, (_, i) => i).filter((i) => i % AGGREGATORS === 2);
    let rehomed!: () => void;
    const allRehomed = new Promise<void>((resolve) => (rehomed = resolve));
    // Round 1 waits until every learner has joined, so round 2 finds them all where they started.
    let joined!: () => void;
    const allJoined = new Promise<void>((resolve) => (joined = resolve));
    let inRound2!: () => void;
    const stalled = new Promise<void>((resolve) => (inRound2 = resolve));
    const learners = new Map<number, LinearLearner>();
    const learnerOf = (i: number): Learner => {
      const linear = new LinearLearner(dataOf(i));
      learners.set(i, linear);
      return {
        train: async (params: TrainParams): Promise<TrainResult> => {
          // Learner 2 stalls in round 2, so aggregator-2 is mid-round when it is killed.
          if (i === 2 && params.round === 2) {
            inRound2();
            return new Promise<TrainResult>(() => undefined);
          }
          if (params.round === 1) await allJoined;
          if (params.round === 3) await allRehomed;
          return linear.train(params);
        },
        evaluate: (p) => linear.evaluate(p),
        getWeights: () => linear.getWeights(),
        setWeights: (w) => linear.setWeights(w),
      };
    };
    const members: FederationMember[] = [];
    // Learner 5 (at aggregator-1) is a process of its own that hangs in round 2.
    const leaf = leafProcess(homesOf(tree.urls, 5).join(','), 'learner-5', '6', '25', '2');
    try {
      await leaf.waitFor(/^joined learner-5 at aggregator-1$/, 60_000);
      members.push(
        ...(await Promise.all(
          Array.from({ length: LEARNERS }, (_, i) => i)
            .filter((i) => i !== 5)
            .map((i) =>
              joinFederation({
                url: homesOf(tree.urls, i),
                id: `learner-${i}`,
                learner: learnerOf(i),
                retry: { initialDelay: 20, maxDelay: 200 },
              }),
            ),
        )),
      );
      joined();
      const orphanMembers = members.filter((m) => orphans.includes(Number(m.id.split('-')[1])));
      let moved = 0;
      for (const m of orphanMembers)
        m.events.on('status', (s) => {
          if (s.state === 'registered' && m.uplink.peer?.id === 'aggregator-3' && ++moved === orphans.length)
            rehomed();
        });

      await leaf.waitFor(/^training round 2$/, 60_000).catch((e: unknown) => {
        throw new Error(
          `${String(e)}\nroot:\n${tree.root.lines.join('\n')}\naggregator-1:\n${tree.aggregators[1]!.lines.join('\n')}`,
        );
      });
      await withTimeout(stalled, 60_000, 'learner 2 never reached round 2');
      process.kill(leaf.pid, 'SIGKILL');
      process.kill(tree.aggregators[2]!.pid, 'SIGKILL');

      // Round 2 completes with the other three aggregators; aggregator-1's without the killed leaf.
      await tree.root.waitFor(
        /^round 2\/4 {2}3\/4 learners {2}1 failed \(aggregator-2: DISCONNECTED\)/,
        60_000,
      );
      await tree.aggregators[1]!.waitFor(
        /^round 2 {2}9\/10 learners {2}1 failed \(learner-5: DISCONNECTED\)/,
        60_000,
      );
      await withTimeout(allRehomed, 30_000, 'the orphans did not re-home');
      await tree.root.waitFor(/^done: 4 of 4 rounds \(completed\)/, 120_000);
      // Aggregator-3 trained its own 10 and the 10 orphans in round 4; every orphan trained in it.
      await tree.aggregators[3]!.waitFor(/^round 4 {2}20\/20 learners/, 10_000);
      for (const i of orphans) expect(learners.get(i)!.seen.map((p) => p.round)).toContain(4);
    } finally {
      members.forEach((m) => m.close());
      leaf.kill();
      tree.aggregators.forEach((a) => a.kill());
      tree.root.kill();
    }
  }, 240_000);
});
