import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tarballProblems } from './tarball-problems.js';

const LICENSE = 'MIT License\n';

const sound = {
  name: '@oiafed/thing',
  version: '0.1.0',
  description: 'a thing',
  keywords: ['thing'],
  license: 'MIT',
  repository: { type: 'git', url: 'git+https://example.invalid/thing.git' },
  engines: { node: '>=20' },
  files: ['dist', 'src', 'LICENSE'],
  exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
  dependencies: { '@oiafed/core': '0.1.0', msgpackr: '2.1.3' },
};

const soundFiles = {
  LICENSE,
  'dist/index.js': 'export {};\n//# sourceMappingURL=index.js.map',
  'dist/index.js.map': JSON.stringify({ version: 3, sources: ['../src/index.ts'], mappings: '' }),
  'dist/index.d.ts': 'export {};',
  'src/index.ts': 'export {};',
};

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** An unpacked tarball made of `files`, with `manifest` as its package.json. */
function unpacked(manifest: object, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'oiafed-tarball-test-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries({ ...files, 'package.json': JSON.stringify(manifest) })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const versions = new Map([
  ['@oiafed/core', '0.1.0'],
  ['@oiafed/thing', '0.1.0'],
]);

describe('tarballProblems', () => {
  it('finds nothing wrong with a complete package', () => {
    expect(tarballProblems(unpacked(sound, soundFiles), LICENSE, versions)).toEqual([]);
  });

  it('names each field a user needs that is missing or wrong', () => {
    const { license: _l, repository: _r, keywords: _k, ...rest } = sound;
    const problems = tarballProblems(
      unpacked({ ...rest, engines: { node: '>=18' } }, { ...soundFiles, LICENSE: 'Apache\n' }),
      LICENSE,
      versions,
    );
    expect(problems).toEqual([
      '@oiafed/thing: license is undefined, not MIT',
      "@oiafed/thing: LICENSE is missing or differs from the repository's",
      '@oiafed/thing: engines.node is >=18',
      '@oiafed/thing: no repository url',
      '@oiafed/thing: no keywords',
    ]);
  });

  it('refuses workspace ranges and ranges that miss the version packed beside it', () => {
    const manifest = { ...sound, dependencies: { '@oiafed/core': 'workspace:*', '@oiafed/node': '0.0.9' } };
    const problems = tarballProblems(
      unpacked(manifest, soundFiles),
      LICENSE,
      new Map([...versions, ['@oiafed/node', '0.1.0']]),
    );
    expect(problems).toEqual([
      '@oiafed/thing: dependency @oiafed/core is workspace:*',
      '@oiafed/thing: dependency @oiafed/core is workspace:*, but the packed one is 0.1.0',
      '@oiafed/thing: dependency @oiafed/node is 0.0.9, but the packed one is 0.1.0',
    ]);
  });

  it('refuses exports without types, with the "source" condition, or pointing at files not shipped', () => {
    const manifest = {
      ...sound,
      exports: {
        '.': { source: './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' },
        './bundle': './dist/bundle/thing.js',
        './web/index.html': './dist/web/index.html',
      },
      bin: { thing: './dist/cli.js' },
    };
    expect(tarballProblems(unpacked(manifest, soundFiles), LICENSE, versions)).toEqual([
      `@oiafed/thing: export . keeps the workspace's "source" condition`,
      '@oiafed/thing: export ./bundle has no types',
      '@oiafed/thing: export ./bundle points at ./dist/bundle/thing.js, which is not shipped',
      '@oiafed/thing: export ./web/index.html points at ./dist/web/index.html, which is not shipped',
      '@oiafed/thing: bin thing points at ./dist/cli.js, which is not shipped',
    ]);
  });

  it('refuses source maps whose sources are neither shipped nor embedded, and shipped test files', () => {
    const files = {
      ...soundFiles,
      'dist/gone.js.map': JSON.stringify({ version: 3, sources: ['../src/gone.ts'], mappings: '' }),
      'dist/bundle.js.map': JSON.stringify({
        version: 3,
        sources: ['../../node_modules/dep/index.js', '../src/gone.ts'],
        sourcesContent: ['export {};', null],
        mappings: '',
      }),
      'src/index.test.ts': 'export {};',
    };
    expect(tarballProblems(unpacked(sound, files), LICENSE, versions)).toEqual([
      '@oiafed/thing: dist/bundle.js.map maps to ../src/gone.ts, which is neither shipped nor embedded',
      '@oiafed/thing: dist/gone.js.map maps to ../src/gone.ts, which is neither shipped nor embedded',
      '@oiafed/thing: ships src/index.test.ts, a test file',
    ]);
  });
});
