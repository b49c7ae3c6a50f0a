import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';

/** Starts the Vite dev server of the demo's web pages; resolves with its base URL. */
export async function servePage(port = 5173): Promise<string> {
  const server = await createServer({
    configFile: fileURLToPath(new URL('../vite.config.ts', import.meta.url)),
    server: { port, host: '127.0.0.1' },
  });
  await server.listen();
  // Typed as always set; left unset, the port asked for is the one.
  return `http://127.0.0.1:${(server.config.server.port as number | undefined) ?? port}`;
}
