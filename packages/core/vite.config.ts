import { defineConfig } from 'vite';

/**
 * One self-contained ES module of the core (msgpackr and eventemitter3 inside), the same file for
 * browsers and Node: e2e/tests/core-bundle.spec.ts loads it in both.
 */
export default defineConfig({
  build: {
    outDir: 'dist/bundle',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'oiafed-core.js' },
  },
});
