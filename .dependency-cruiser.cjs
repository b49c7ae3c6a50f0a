// The import rules of the layout (README, Layout): the core's layers import only the layers below
// them, the core stays platform-free, and the adapters stay apart. `npm test` runs this check.
const layers = ['wire', 'links', 'membership', 'rpc', 'connect', 'fl'];
const tests = '(\\.test|\\.test-d|\\.fuzz\\.test|test-support)\\.ts$';

module.exports = {
  forbidden: [
    ...layers.map((layer, i) => ({
      name: `core-${layer}-imports-only-below`,
      comment: `packages/core/src/${layer} may import only ${layers.slice(0, i).join(', ') || 'itself'}: layers import one way, down (${layers.join(' <- ')})`,
      severity: 'error',
      from: { path: `^packages/core/src/${layer}/`, pathNot: tests },
      to: {
        path: `^packages/core/src/(${[...layers.slice(i + 1), 'config\\.ts', 'config-fields\\.ts', 'resolve-config\\.ts', 'index\\.ts', 'internal\\.ts', 'run\\.ts'].join('|')})`,
      },
    })),
    {
      name: 'core-is-platform-free',
      comment:
        'packages/core runs unchanged in browsers and Node: no node:* module (DOM-only globals are kept out by globals.d.ts)',
      severity: 'error',
      from: { path: '^packages/core/src/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'core-imports-no-adapter',
      comment: 'the adapters (packages/node, packages/browser) depend on the core, never the other way',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: '^packages/(node|browser)/' },
    },
    {
      name: 'dashboard-needs-only-the-core',
      comment:
        'packages/dashboard is a page and its feeds: it runs in a browser (or beside a Federation), on the core alone',
      severity: 'error',
      from: { path: '^packages/dashboard/' },
      to: { path: '^packages/(node|browser)/' },
    },
    {
      name: 'adapters-stay-apart',
      comment: 'packages/node and packages/browser are each the glue to one platform',
      severity: 'error',
      from: { path: '^packages/(node|browser)/' },
      to: { path: '^packages/(browser|node)/', pathNot: '^packages/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.typetest.json' },
    enhancedResolveOptions: {
      conditionNames: ['source', 'import', 'default'],
      extensions: ['.ts', '.js', '.mjs'],
    },
  },
};
