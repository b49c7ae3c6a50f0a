import { createServer, type Server } from 'node:net';

/** A port held by a server of the test's (close it after): anything else that listens there gets EADDRINUSE. */
export async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

/** A port nothing listens on: one the system just gave out and took back (connecting to it: ECONNREFUSED). */
export async function closedPort(): Promise<number> {
  const { port, server } = await takenPort();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
