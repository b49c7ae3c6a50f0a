import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from './config-file.js';

const dir = await mkdtemp(join(tmpdir(), 'oiafed-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('YAML config', () => {
  it('loads the same shape as the typed config object', async () => {
    const path = join(dir, 'federation.yaml');
    await writeFile(
      path,
      [
        'transport:',
        '  mode: websocket',
        '  port: 9000',
        'federation:',
        '  rounds: 4',
        '  strategy:',
        '    name: fedprox',
        '    options: { mu: 0.01 }',
        '  secureAggregation:',
        '    clipRange: 0.5',
        '    threshold: 3',
        '',
      ].join('\n'),
    );
    const config = await loadConfig(path);
    expect(config.transport).toMatchObject({ mode: 'websocket', port: 9000 });
    expect(config.federation).toMatchObject({
      rounds: 4,
      strategy: { name: 'fedprox', options: { mu: 0.01 } },
      secureAggregation: { clipRange: 0.5, threshold: 3, bits: 32 },
    });
  });

  it('names the file and the field of an invalid setting', () => {
    expect(() => parseConfig('federation:\n  rounds: -2\n', 'run.yaml')).toThrow(
      /run\.yaml: federation\.rounds must be an integer from 1 \(got -2\)/,
    );
    expect(() => parseConfig('federation: [unclosed', 'bad.yaml')).toThrow(/bad\.yaml is not valid YAML/);
  });

  it('fails clearly for a missing file', async () => {
    await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/cannot read config/),
    });
  });
});
