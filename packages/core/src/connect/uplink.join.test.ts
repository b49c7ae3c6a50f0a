import { afterEach, describe, expect, it } from 'vitest';
import { ConnectError, webSocketConnectError } from '../links/connect-error.js';
import { DEFAULT_JOIN_TIMEOUT } from '../links/connect-timeout.js';
import type { Link } from '../links/link.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { Node } from '../rpc/node.js';
import { ManualClock } from '../test-support.js';
import { OiafedError } from '../wire/errors.js';
import { Uplink, type UplinkOptions, type UplinkStatus, type UplinkStatusDetail } from './uplink.js';

const nodes: Node[] = [];
const uplinks: Uplink[] = [];
afterEach(() => {
  uplinks.splice(0).forEach((u) => u.close());
  nodes.splice(0).forEach((n) => n.close());
});

/** What ws reports for a port nobody listens on (its 'error' event's error, then close 1006). */
const refused = () =>
  webSocketConnectError(
    'ws://127.0.0.1:9',
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    1006,
    '',
  );

type Seen = [UplinkStatus, UplinkStatusDetail];

/** An uplink of a fresh learner node, its statuses recorded in order. */
function uplink(options: Omit<UplinkOptions, 'node'>): { uplink: Uplink; seen: Seen[] } {
  const node = new Node({ id: 'learner', role: 'learner', heartbeat: false });
  nodes.push(node);
  const u = new Uplink({ node, ...options });
  uplinks.push(u);
  const seen: Seen[] = [];
  u.events.on('status', (status, detail) => seen.push([status, detail]));
  return { uplink: u, seen };
}

/** The next status of `u` for which `fits` holds (listened to before the step that causes it). */
function nextStatus(
  u: Uplink,
  fits: (status: UplinkStatus, detail: UplinkStatusDetail) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    const listener = (status: UplinkStatus, detail: UplinkStatusDetail) => {
      if (!fits(status, detail)) return;
      u.events.off('status', listener);
      resolve();
    };
    u.events.on('status', listener);
  });
}

/** A fresh strict memory link to `hub`, per attempt. */
const linkTo = (hub: Node) => async (): Promise<Link> => {
  const [hubSide, leafSide] = memoryLinkPair({ strict: true });
  hub.accept(hubSide);
  return leafSide;
};

const waiting = (status: UplinkStatus, detail: UplinkStatusDetail) =>
  status === 'connecting' && detail.delay !== undefined;

describe('Uplink: the first join', () => {
  it('says connecting at once, before any attempt ends', () => {
    const { uplink: u, seen } = uplink({
      connect: () => new Promise<Link>(() => undefined),
      clock: new ManualClock(),
    });
    void u.start().catch(() => undefined);
    expect(seen).toEqual([['connecting', { attempt: 0 }]]);
    expect(u.status).toBe('connecting');
  });

  it('fails after joinTimeout with the last attempt’s cause, counting the attempts, on the injected clock', async () => {
    const clock = new ManualClock();
    const { uplink: u, seen } = uplink({
      connect: () => Promise.reject(refused()),
      retry: { initialDelay: 1_000, maxDelay: 1_000, jitter: 0 },
      joinTimeout: 2_500,
      clock,
    });
    let next = nextStatus(u, waiting);
    const joined = u.start();
    const outcome = joined.catch((error: unknown) => error);
    await next; // attempt 1 failed at t=0
    next = nextStatus(u, waiting);
    clock.advance(1_000);
    await next; // attempt 2 failed at t=1000
    next = nextStatus(u, waiting);
    clock.advance(1_000);
    await next; // attempt 3 failed at t=2000
    clock.advance(499);
    expect(u.status).toBe('connecting');
    clock.advance(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({
      code: 'TIMEOUT',
      failure: 'refused',
      systemCode: 'ECONNREFUSED',
      url: 'ws://127.0.0.1:9',
      attempts: 3,
      timedOut: true,
    });
    expect((error as Error).message).toBe(
      'no connection within 2500 ms (3 attempts); the last: cannot connect to ws://127.0.0.1:9: connection refused, nothing listens there (ECONNREFUSED)',
    );
    expect(seen.map(([s]) => s)).toEqual([
      'connecting',
      'connecting',
      'connecting',
      'connecting',
      'connecting',
      'connecting',
      'failed',
    ]);
    expect(seen.at(-1)![1]).toMatchObject({ attempt: 3, error });
    expect(clock.pending).toBe(0); // no attempt is waited for after the failure
  });

  it('fails at the default deadline (DEFAULT_JOIN_TIMEOUT, 30 s) with failure timeout when no attempt ends', async () => {
    expect(DEFAULT_JOIN_TIMEOUT).toBe(30_000);
    const clock = new ManualClock();
    const { uplink: u, seen } = uplink({ connect: () => new Promise<Link>(() => undefined), clock });
    const outcome = u.start().catch((error: unknown) => error);
    clock.advance(29_999);
    expect(u.status).toBe('connecting');
    clock.advance(1);
    expect(await outcome).toMatchObject({ code: 'TIMEOUT', failure: 'timeout', attempts: 0, timedOut: true });
    expect(seen.map(([s]) => s)).toEqual(['connecting', 'failed']);
  });

  it('fails after retry.maxAttempts with the cause, reporting each failed attempt and the wait before the next', async () => {
    const { uplink: u, seen } = uplink({
      connect: () => Promise.reject(refused()),
      retry: { maxAttempts: 3, initialDelay: 1, maxDelay: 1, jitter: 0 },
    });
    const error = await u.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_CONNECTED', failure: 'refused', attempts: 3, timedOut: false });
    expect((error as Error).message).toMatch(/ECONNREFUSED\) \(3 attempts\)$/);
    expect(seen).toEqual([
      ['connecting', { attempt: 0 }],
      ['connecting', { attempt: 1, delay: 1, error: expect.objectContaining({ failure: 'refused' }) }],
      ['connecting', { attempt: 1 }],
      ['connecting', { attempt: 2, delay: 1, error: expect.objectContaining({ failure: 'refused' }) }],
      ['connecting', { attempt: 2 }],
      ['failed', { attempt: 3, error, reason: (error as Error).message }],
    ]);
  });

  it('gives up at once on a refusal another attempt will not cure (HTTP 403), keeping its hint', async () => {
    let attempts = 0;
    const forbidden = webSocketConnectError(
      'ws://127.0.0.1:9',
      new Error('Unexpected server response: 403'),
      1006,
      '',
    );
    const { uplink: u } = uplink({ connect: () => (attempts++, Promise.reject(forbidden)) });
    await expect(u.start()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      failure: 'http',
      status: 403,
      attempts: 1,
      hint: expect.stringContaining('Origin'),
    });
    expect(attempts).toBe(1);
  });

  it('wraps a refused hello (a wrong token) as a ConnectError of failure rejected, keeping its code', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false, authenticate: 'sesame' });
    nodes.push(hub);
    const { uplink: u } = uplink({
      connect: linkTo(hub),
      join: { token: 'nope' },
    });
    const error = await u.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', failure: 'rejected', attempts: 1 });
    expect((error as ConnectError).cause).toBeInstanceOf(OiafedError);
  });

  it('stays failed when closed after failing (no closed status after the final one)', async () => {
    const { uplink: u, seen } = uplink({
      connect: () => Promise.reject(refused()),
      retry: { maxAttempts: 1 },
    });
    await u.start().catch(() => undefined);
    u.close();
    expect(u.status).toBe('failed');
    expect(seen.at(-1)![0]).toBe('failed');
  });

  it('lets go of its deadline once registered, and a later drop is not bounded by it', async () => {
    const clock = new ManualClock();
    const hub = new Node({ id: 'hub', heartbeat: false });
    nodes.push(hub);
    const { uplink: u } = uplink({
      connect: linkTo(hub),
      joinTimeout: 1_000,
      clock,
    });
    await u.start();
    expect(clock.pending).toBe(0);
    clock.advance(5_000);
    expect(u.status).toBe('registered');
  });

  it('refuses a joinTimeout that is not a positive number', () => {
    for (const joinTimeout of [0, -1, Number.NaN]) {
      const { uplink: u } = uplink({ connect: () => Promise.reject(refused()), joinTimeout });
      expect(() => u.start()).toThrow(/joinTimeout must be > 0/);
    }
  });
});
