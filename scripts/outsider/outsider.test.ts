// The outsider's path (issue 14): the tarballs `npm run pack` writes, installed with plain npm into a
// fresh project outside the workspace, type-checked, run in Node, and built into a page that trains
// in Chromium for a Node trainer. Runs outside the network namespace: npm needs the registry.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumArgs, chromiumPath } from '../../e2e/chromium.js';
import { LineProcess } from '../../packages/node/src/line-process.test-support.js';
import { OutsiderProject } from './outsider-project.js';
import { packsProblems } from './tarball-problems.js';

const run = promisify(execFile);
const workspace = fileURLToPath(new URL('../..', import.meta.url));
const packs = join(workspace, 'packs');

/** The version the workspace itself uses of a tool the outsider installs too. */
const workspaceVersion = (name: string) =>
  (
    JSON.parse(readFileSync(join(workspace, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

interface FederationOutcome {
  rounds: { round: number; results: number; clients?: string[] }[];
  losses?: number[];
  weights: { w: number; b: number };
}

describe("the outsider's path: tarballs installed with plain npm outside the workspace", () => {
  const project = new OutsiderProject(fileURLToPath(new URL('./project', import.meta.url)), workspace);
  let tarballs: string[] = [];
  let browser: Browser | undefined;
  let trainer: LineProcess | undefined;

  beforeAll(async () => {
    project.create();
    await run('sh', [join(workspace, 'scripts/pack.sh')], { cwd: workspace, timeout: 90_000 });
    tarballs = readdirSync(packs).filter((file) => file.endsWith('.tgz'));
  }, 100_000);

  afterAll(async () => {
    trainer?.kill();
    await browser?.close();
    project.remove();
  }, 60_000);

  it('packs each package under packages/ with real versions, complete exports, types, resolvable maps and its license', async () => {
    // One tarball per package that is not private, named as npm names them (@oiafed/core 0.1.0: oiafed-core-0.1.0.tgz).
    const expected = readdirSync(join(workspace, 'packages'))
      .map((dir) => join(workspace, 'packages', dir, 'package.json'))
      .filter((file) => existsSync(file))
      .map(
        (file) =>
          JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string; private?: boolean },
      )
      .filter((manifest) => manifest.private !== true)
      .map(({ name, version }) => `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
    expect([...tarballs].sort()).toEqual(expected.sort());
    expect(await packsProblems(packs, workspace)).toEqual([]);
  });

  it('installs @oiafed/core alone, and its entry points load in Node: the API, the internals, the bundle', async () => {
    const core = tarballs.find((file) => file.startsWith('oiafed-core-'))!;
    await project.npmInstall([join(packs, core)], 60_000);
    await project.npm(['ls', '--all'], 30_000);
    const entries = `
      const api = await import('@oiafed/core');
      const bundle = await import('@oiafed/core/bundle');
      const internal = await import('@oiafed/core/internal');
      console.log(JSON.stringify({ api: Object.keys(api), bundle: Object.keys(bundle), internal: Object.keys(internal) }));`;
    const loaded = await project.node(['--input-type=module', '-e', entries], 20_000);
    const { api, bundle, internal } = JSON.parse(loaded) as Record<'api' | 'bundle' | 'internal', string[]>;
    expect(api).toContain('Federation');
    expect(bundle).toEqual(api);
    expect(internal).toContain('FramedLink');
  }, 70_000);

  it("installs the other packages beside it, with TypeScript and Vite at the workspace's versions", async () => {
    const others = tarballs
      .filter((file) => !file.startsWith('oiafed-core-'))
      .map((file) => join(packs, file));
    const tools = ['typescript', 'vite', '@types/node'].map((name) => `${name}@${workspaceVersion(name)}`);
    await project.npmInstall([...others, ...tools], 90_000);
    // A complete, valid tree (npm ls fails on a missing or invalid dependency), in which every
    // package's @oiafed/core is the one tarball: there is no registry to fetch another from.
    await project.npm(['ls', '--all'], 30_000);
    const cores = await project.npm(['ls', '@oiafed/core', '--all', '--parseable'], 30_000);
    expect(new Set(cores.trim().split('\n'))).toEqual(
      new Set([join(project.dir, 'node_modules/@oiafed/core')]),
    );
  }, 100_000);

  it('type-checks a strict program against the installed declarations: a learner class, a custom strategy', async () => {
    // skipLibCheck is off in the project: the packages' own .d.ts files are checked too.
    await expect(project.bin('tsc', ['-p', '.', '--strict'], 60_000)).resolves.toBe('');
  }, 70_000);

  it('runs a memory federation in Node from the installed packages: it finishes and the model learns', async () => {
    const outcome = JSON.parse(await project.node(['build/src/federation.js'], 30_000)) as FederationOutcome;
    expect(outcome.rounds).toEqual([1, 2, 3].map((round) => ({ round, results: 4 })));
    const [first, second, third] = outcome.losses!;
    expect(second).toBeLessThan(first!);
    expect(third).toBeLessThan(second!);
    // From zeros towards the learners' line y = 3x - 2.
    expect(outcome.weights.w).toBeGreaterThan(0);
    expect(outcome.weights.b).toBeLessThan(0);
  }, 40_000);

  it('builds a learner page with Vite from @oiafed/browser, whose tab trains the rounds of a Node trainer', async () => {
    await project.bin(
      'vite',
      ['build', 'page', '--outDir', '../dist-page', '--emptyOutDir', '--logLevel', 'warn'],
      60_000,
    );
    trainer = new LineProcess(['build/src/trainer.js', 'dist-page'], { cwd: project.dir, env: project.env });
    const { page: address } = JSON.parse((await trainer.waitFor(/^\{"page"/, 20_000)).input!) as {
      page: string;
    };

    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    await tab.goto(address);

    const outcome = JSON.parse((await trainer.waitFor(/^\{"rounds"/, 60_000)).input!) as FederationOutcome;
    expect(outcome.rounds).toEqual([1, 2].map((round) => ({ round, clients: ['tab'], results: 1 })));
    expect(outcome.weights.w).not.toBe(0);
    expect(await trainer.exited).toBe(0);
    // The tab heard that the run ended: its status line says so once the notice is handled.
    const status = await tab.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const output = document.querySelector('#status')!;
          const check = () => output.textContent.startsWith('finished') && resolve(output.textContent);
          check();
          new MutationObserver(check).observe(output, {
            childList: true,
            characterData: true,
            subtree: true,
          });
          setTimeout(() => reject(new Error(`status stayed "${output.textContent}"`)), 10_000);
        }),
    );
    expect(status).toBe('finished: completed after 2 rounds');
    expect(errors).toEqual([]);
  }, 120_000);
});
