import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { encodeDataset } from './src/mnist.js';
import { loadMnist } from './src/mnist-node.js';

/** Serves the `mnist` package's digits to the pages as /mnist.bin (see encodeDataset). */
function mnistDigits(): Plugin {
  let bytes: Uint8Array | undefined;
  // Returns nothing: a function returned from configureServer would be run as a post hook.
  const serve = (server: {
    middlewares: {
      use(
        path: string,
        fn: (req: unknown, res: { setHeader(k: string, v: string): void; end(b: Uint8Array): void }) => void,
      ): void;
    };
  }): void => {
    server.middlewares.use('/mnist.bin', (_req, res) => {
      bytes ??= encodeDataset(loadMnist());
      res.setHeader('content-type', 'application/octet-stream');
      res.end(bytes);
    });
  };
  return { name: 'oiafed-mnist', configureServer: serve, configurePreviewServer: serve };
}

export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  // Workspace packages from their TypeScript sources: no build step between an edit and the page.
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  plugins: [mnistDigits()],
  // Pre-bundled when the server starts, not when a page first asks for them: a dependency found
  // mid-run makes Vite reload every open page, and learner tabs then drop out of their round.
  optimizeDeps: {
    include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@oiafed/dashboard > uplot'],
  },
  server: { host: '127.0.0.1', fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  build: {
    outDir: fileURLToPath(new URL('./dist-web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
});
