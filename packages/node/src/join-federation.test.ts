import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectError, Node, type MemberState, type MemberStatus } from '@oiafed/core';
import { FramedLink, webSocketChannel } from '@oiafed/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { linearLearner } from '../../core/src/fl/linear-learner.test-support.js';
import { joinFederation, type JoinFederationOptions } from './join-federation.js';
import { closedPort } from './ports.test-support.js';
import { serveWebSocket } from './web-socket-server.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function trainerNode(options: ConstructorParameters<typeof Node>[0] = {}): Node {
  const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, ...options });
  cleanup.push(() => node.close());
  return node;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

interface Outcome {
  states: MemberState[];
  statuses: MemberStatus[];
  error: unknown;
  ms: number;
}

/** Joins with `options`, recording every status through onStatus; the join is expected to fail. */
async function failingJoin(options: Omit<JoinFederationOptions, 'learner'>): Promise<Outcome> {
  const statuses: MemberStatus[] = [];
  const started = performance.now();
  const error = await joinFederation({
    learner: linearLearner(0),
    heartbeat: false,
    onStatus: (s) => statuses.push(s),
    ...options,
  }).then(
    (member) => (member.close(), new Error('joined, though it should have failed')),
    (e: unknown) => e,
  );
  return { states: statuses.map((s) => s.state), statuses, error, ms: performance.now() - started };
}

/** connecting, any number of connecting (attempts and waits), then failed: nothing else. */
function expectConnectingThenFailed(states: MemberState[]): void {
  expect(states[0]).toBe('connecting');
  expect(states.at(-1)).toBe('failed');
  expect(new Set(states.slice(0, -1))).toEqual(new Set(['connecting']));
}

/**
 * A user's own WebSocket server in front of a trainer that wants `Authorization: Bearer <token>`
 * on the upgrade (as a gateway would), answering HTTP 401 otherwise.
 */
async function bearerServer(node: Node, token: string): Promise<string> {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    verifyClient: (info, done) =>
      info.req.headers.authorization === `Bearer ${token}` ? done(true) : done(false, 401, 'Unauthorized'),
  });
  wss.on('connection', (socket) => node.accept(new FramedLink(webSocketChannel(socket), {})));
  const port = await listen(http);
  cleanup.push(
    () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => http.close(resolve));
      }),
  );
  return `ws://127.0.0.1:${port}`;
}

describe('joinFederation (Node): failures say what happened', () => {
  it('a closed port: connecting ... failed after retry.maxAttempts, cause ECONNREFUSED', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}`;
    const { states, error } = await failingJoin({
      url,
      retry: { maxAttempts: 3, initialDelay: 10, maxDelay: 10 },
    });
    expectConnectingThenFailed(states);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      code: 'NOT_CONNECTED',
      failure: 'refused',
      systemCode: 'ECONNREFUSED',
      url,
      attempts: 3,
      timedOut: false,
    });
    expect((error as Error).message).toContain('connection refused');
  });

  it('a closed port with retries for ever: failed once joinTimeout has passed, not before, with the last cause', async () => {
    const joinTimeout = 600;
    const { states, statuses, error, ms } = await failingJoin({
      url: `ws://127.0.0.1:${await closedPort()}`,
      joinTimeout,
      retry: { initialDelay: 20, maxDelay: 50 },
    });
    expectConnectingThenFailed(states);
    expect(error).toMatchObject({ code: 'TIMEOUT', failure: 'refused', timedOut: true });
    expect((error as ConnectError).attempts).toBeGreaterThan(1);
    expect(statuses.at(-1)!.error).toBe(error);
    // The real bound: not before joinTimeout, and within it plus what one event loop turn costs a busy machine.
    expect(ms).toBeGreaterThanOrEqual(joinTimeout - 1);
    expect(ms).toBeLessThan(joinTimeout + 2_000);
  });

  // Where no name server answers (a private network namespace), the lookup waits for the resolver (6 s here).
  it('an unresolvable host (.invalid): failed with a DNS cause', { timeout: 45_000 }, async () => {
    const { states, error } = await failingJoin({
      url: 'ws://oiafed-no-such-host.invalid:8787',
      retry: { maxAttempts: 1 },
      joinTimeout: 40_000,
      link: { timeout: 35_000 },
    });
    expectConnectingThenFailed(states);
    expect(error).toMatchObject({ failure: 'dns', code: 'NOT_CONNECTED', attempts: 1 });
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain((error as ConnectError).systemCode);
    expect((error as Error).message).toContain('oiafed-no-such-host.invalid does not resolve');
  });

  it('a server that refuses the Origin (403): failed at the first attempt, final, with a hint about Origin; the right Origin header joins', async () => {
    const node = trainerNode();
    const server = await serveWebSocket(node, { origins: ['https://app.example'] });
    cleanup.push(() => server.close());
    const { states, error } = await failingJoin({ url: server.url, joinTimeout: 60_000 });
    expect(states).toEqual(['connecting', 'failed']);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', failure: 'http', status: 403, attempts: 1 });
    expect((error as ConnectError).hint).toMatch(/Origin/);
    expect((error as Error).message).toMatch(/HTTP 403.*headers: \{ Origin/);

    const member = await joinFederation({
      url: server.url,
      learner: linearLearner(0),
      heartbeat: false,
      headers: { Origin: 'https://app.example' },
    });
    cleanup.push(() => member.close());
    expect(member.status.state).toBe('registered');
  });

  it('a server that wants a bearer token (401): failed, final, with a hint about Authorization; the header joins', async () => {
    const node = trainerNode();
    const url = await bearerServer(node, 's3cret');
    const { states, error } = await failingJoin({ url, headers: { Authorization: 'Bearer wrong' } });
    expect(states).toEqual(['connecting', 'failed']);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', failure: 'http', status: 401, attempts: 1 });
    expect((error as ConnectError).hint).toMatch(/Authorization/);

    const member = await joinFederation({
      url,
      learner: linearLearner(0),
      heartbeat: false,
      headers: { Authorization: 'Bearer s3cret' },
    });
    cleanup.push(() => member.close());
    expect(node.registry.connected()).toEqual([member.id]);
  });

  it('TLS spoken to a plain server (wss:// to ws://): failed with a TLS cause', async () => {
    const server = await serveWebSocket(trainerNode());
    cleanup.push(() => server.close());
    const { states, error } = await failingJoin({
      url: `wss://127.0.0.1:${server.port}`,
      retry: { maxAttempts: 1 },
    });
    expectConnectingThenFailed(states);
    expect(error).toMatchObject({ failure: 'tls', code: 'NOT_CONNECTED' });
    expect((error as ConnectError).systemCode).toMatch(/^(ERR_SSL_|EPROTO)/);
  });

  it('a trainer that refuses the hello (wrong token): failed with failure rejected, code UNAUTHORIZED', async () => {
    const server = await serveWebSocket(trainerNode({ authenticate: 'sesame' }));
    cleanup.push(() => server.close());
    const { states, error } = await failingJoin({ url: server.url, token: 'nope' });
    expectConnectingThenFailed(states);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', failure: 'rejected', attempts: 1 });
  });

  it('a URL that is not a WebSocket URL: failed at once with failure invalid', async () => {
    const { states, error } = await failingJoin({ url: 'http//nonsense' });
    expect(states).toEqual(['connecting', 'failed']);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', failure: 'invalid' });
  });

  it('reports connecting through onStatus before the join resolves, then registered', async () => {
    const server = await serveWebSocket(trainerNode());
    cleanup.push(() => server.close());
    const states: MemberState[] = [];
    const joining = joinFederation({
      url: server.url,
      learner: linearLearner(0),
      heartbeat: false,
      onStatus: (s) => states.push(s.state),
    });
    expect(states).toEqual(['connecting']);
    const member = await joining;
    cleanup.push(() => member.close());
    expect(states).toEqual(['connecting', 'registered']);
  });
});
