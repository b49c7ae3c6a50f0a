import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runToExit } from './exited-process.test-support.js';
import { failureLine } from './run-command.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixture = (how: string, env: Record<string, string> = {}) =>
  runToExit(['--import', 'tsx', '--conditions=source', 'fixtures/failing-command.fixture.ts', how], {
    cwd: here,
    env,
  });

// Each test starts real processes (tsx, and for the demo tfjs): seconds each on a busy machine.
describe('runCommand: a command that fails says so in one line', { timeout: 120_000 }, () => {
  for (const how of ['throw', 'uncaught', 'rejection']) {
    it(`a failure (${how}) prints one line on stderr, no stack, and exits 1`, async () => {
      const { code, stderr } = await fixture(how);
      expect(code).toBe(1);
      expect(stderr).toBe('fixture: the trainer is not there\\nsecond line of the message\n');
    });
  }

  it('OIAFED_DEBUG=1 prints the stack after the line', async () => {
    const { code, stderr } = await fixture('throw', { OIAFED_DEBUG: '1' });
    expect(code).toBe(1);
    const [line, ...rest] = stderr.split('\n');
    expect(line).toBe('fixture: the trainer is not there\\nsecond line of the message');
    expect(rest.join('\n')).toMatch(
      /Error: the trainer is not there\n.*\n\s+at .*failing-command\.fixture\.ts/,
    );
  });

  it('exits with the code main returns', async () => {
    expect(await fixture('ok')).toMatchObject({ code: 3, stderr: '' });
  });

  it('keeps a line short and one line, whatever was thrown', () => {
    const line = failureLine('oiafed', new Error(`${'x'.repeat(50_000)}\n\u001b[2J`));
    expect(line.length).toBeLessThanOrEqual(900);
    expect(line).not.toMatch(/[\n\r]/);
    expect(line).not.toContain('\u001b');
    expect(failureLine('demo', 'a thrown string')).toBe('demo: a thrown string');
    expect(failureLine('demo', { toString: () => 'never called' })).toBe('demo: [object]');
  });
});
