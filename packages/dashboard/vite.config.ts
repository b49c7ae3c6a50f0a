import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard page, built into dist/web: `oiafed serve` and the demo serve it from there (under
// /dashboard/, hence relative asset paths), from this workspace or an installed package alike.
export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: './',
  // The core from its TypeScript sources: the page builds without the packages' own build first.
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // One small page: a chunk-size warning would only be noise.
    chunkSizeWarningLimit: 1024,
  },
});
