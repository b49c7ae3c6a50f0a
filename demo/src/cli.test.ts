import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runToExit } from '../../packages/node/src/exited-process.test-support.js';
import { takenPort } from '../../packages/node/src/ports.test-support.js';

const demoDir = fileURLToPath(new URL('..', import.meta.url));
const demo = (args: string[], env: Record<string, string> = {}) =>
  runToExit(['--import', 'tsx', '--conditions=source', 'src/cli.ts', ...args], {
    cwd: demoDir,
    env,
    ms: 120_000,
  });

// Each test starts real processes (tsx, and for the demo tfjs): seconds each on a busy machine.
describe('the demo CLI fails cleanly', { timeout: 120_000 }, () => {
  it('a run that fails after the wasm backend started (its port is taken): one stderr line under 1,000 characters, exit code 1, no dependency source', async () => {
    const { port, server } = await takenPort();
    try {
      const args = ['--mode', 'websocket', '--port', String(port), '--clients', '1', '--backend', 'wasm'];
      const { code, stderr, stdout } = await demo(args);
      expect(stdout).toMatch(/mode websocket/); // it got as far as the run, past the backend's start
      expect(code).toBe(1);
      expect(stderr.length).toBeLessThan(1_000);
      expect(stderr).toBe(`demo: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);

      const debug = await demo(args, { OIAFED_DEBUG: '1' });
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/^demo: listen EADDRINUSE.*\n[\s\S]*\n\s+at /);
      expect(debug.stderr).not.toMatch(/WasmBackendModule/); // the stack, not tfjs's module
    } finally {
      server.close();
    }
  }, 240_000);

  it('an unknown option: one line saying so, the usage, exit code 2', async () => {
    const { code, stderr } = await demo(['--no-such-option']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^demo: Unknown option '--no-such-option'/);
  });
});

describe('the demo with differential privacy', () => {
  it('--dp-noise and --dp-clip run DP-FedAvg: every round line says epsilon, and --dp-budget ends the run', async () => {
    const small = ['--clients', '4', '--train-size', '1200', '--test-size', '500', '--rounds', '5'];
    const { code, stdout } = await demo([
      ...small,
      '--dp-noise',
      '2',
      '--dp-clip',
      '1',
      '--dp-budget',
      '4.1',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/differential privacy: noise multiplier 2, clip 1, epsilon budget 4\.1/);
    // Opacus, z 2, q 1, delta 1e-5: epsilon 2.1657, 3.1890, 4.0113 after rounds 1 to 3; 4.7285 after a fourth.
    expect(stdout).toMatch(
      /^round {2}1\/5 .*test acc 0\.\d+ .*epsilon 2\.17 of 4\.1 \(delta 1e-5, z 2, clip 1\)/m,
    );
    expect(stdout).toMatch(/^round {2}3\/5 .*epsilon 4\.01 of 4\.1 /m);
    expect(stdout).not.toMatch(/^round {2}4\/5/m);
    expect(stdout).toMatch(/^done: 3 rounds in .* \(budget\)/m);
  }, 120_000);

  it('--secure with --dp-mode distributed: learners clip, noise and mask their updates; every round line says epsilon', async () => {
    const small = ['--clients', '4', '--train-size', '1200', '--test-size', '500', '--rounds', '2'];
    const dp = ['--dp-noise', '2', '--dp-clip', '1', '--dp-mode', 'distributed'];
    const { code, stdout } = await demo([...small, '--secure', ...dp]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /, secure aggregation, .*; differential privacy \(distributed\): noise multiplier 2, clip 1$/m,
    );
    // Opacus, z 2, q 1, delta 1e-5: epsilon 2.1657 and 3.1890 after rounds 1 and 2.
    expect(stdout).toMatch(
      /^round {2}1\/2 {2}4\/4 clients .*test acc 0\.\d+ .*epsilon 2\.17 \(delta 1e-5, z 2, clip 1\)/m,
    );
    expect(stdout).toMatch(/^round {2}2\/2 {2}4\/4 clients .*epsilon 3\.19 /m);
    expect(stdout).toMatch(/^done: 2 rounds in .* \(completed\)/m);
  }, 120_000);

  it('refuses --dp-noise without --dp-clip, a budget without noise, --secure with central DP, and a trainer tab with --secure', async () => {
    const [noClip, noNoise, central] = await Promise.all([
      demo(['--dp-noise', '1']),
      demo(['--dp-budget', '3']),
      demo(['--secure', '--dp-noise', '1', '--dp-clip', '1']),
    ]);
    const tab = await demo(['--mode', 'webrtc', '--trainer-tab', '--secure']);
    expect(tab.code).toBe(2);
    expect(tab.stderr).toMatch(/^demo: --trainer-tab runs without --secure and --dp-\*/);
    expect(noClip.code).toBe(2);
    expect(noClip.stderr).toMatch(/^demo: --dp-noise and --dp-clip go together/);
    expect(noNoise.code).toBe(2);
    expect(noNoise.stderr).toMatch(
      /^demo: --dp-delta, --dp-budget and --dp-mode need --dp-noise and --dp-clip/,
    );
    expect(central.code).toBe(2);
    expect(central.stderr).toMatch(/^demo: --secure with differential privacy needs --dp-mode distributed/);
  }, 120_000); // three tsx processes at once: a minute was too short on a loaded machine
});

describe('the demo with top-k', () => {
  it("refuses top-k's settings without --codec topk, and a warm-up that is not whole rounds", async () => {
    const [fraction, warmup, from, partial] = await Promise.all([
      demo(['--codec', 'int8', '--topk-fraction', '0.01']),
      demo(['--topk-warmup', '3']),
      demo(['--codec', 'fp16', '--topk-warmup-from', '0.2']),
      demo(['--codec', 'topk', '--topk-warmup', '1.5']),
    ]);
    expect([fraction.code, warmup.code, from.code, partial.code]).toEqual([2, 2, 2, 2]);
    expect(fraction.stderr).toMatch(/^demo: --topk-fraction needs --codec topk/);
    expect(warmup.stderr).toMatch(/^demo: --topk-warmup needs --codec topk/);
    expect(from.stderr).toMatch(/^demo: --topk-warmup-from needs --codec topk/);
    expect(partial.stderr).toMatch(
      /^demo: --topk-warmup must be a whole number of rounds, 0 or more \(got "1\.5"\)/,
    );
  }, 120_000); // four tsx processes at once on a loaded machine
});
