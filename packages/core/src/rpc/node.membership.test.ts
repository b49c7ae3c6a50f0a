import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type HelloFrame } from '../wire/envelope.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { nextEvent, nodeMaker, RawPeer } from '../test-support.js';

const make = nodeMaker(afterEach);

describe('registration', () => {
  it('shows users a read-only registry: nobody but a handshake can put a client in it', async () => {
    const hub = make('trainer');
    await joinInMemory(hub, make('l1'));
    expect(hub.registry.connected()).toEqual(['l1']);
    expect(hub.registry.size).toBe(1);
    expect(hub.registry.get('l1')).toMatchObject({ id: 'l1', state: 'connected' });
    for (const mutator of ['admit', 'depart'])
      expect((hub.registry as unknown as Record<string, unknown>)[mutator]).toBeUndefined();
    expect(Object.isFrozen(hub.registry)).toBe(true);
  });

  it('registers a learner with its role, capabilities and metadata, and announces CLIENT_REGISTERED', async () => {
    const hub = make('trainer', { role: 'trainer' });
    const learner = make('l1', { role: 'learner' });
    const registered = nextEvent(hub.events, 'CLIENT_REGISTERED');
    const peer = await joinInMemory(hub, learner, {
      capabilities: ['train', 'evaluate'],
      metadata: { examples: 600 },
      strict: true,
    });
    expect(peer).toEqual({ id: 'trainer', role: 'trainer', resume: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const [client] = await registered;
    expect(client).toMatchObject({
      id: 'l1',
      role: 'learner',
      capabilities: ['train', 'evaluate'],
      metadata: { examples: 600 },
      state: 'connected',
    });
    expect(hub.registry.connected()).toEqual(['l1']);
    expect(hub.registry.connected('trainer')).toEqual([]);
  });

  it('refuses a wrong or missing token with UNAUTHORIZED and keeps serving the others', async () => {
    const hub = make('trainer', { authenticate: 'sesame' });
    hub.handle('ping', () => 'pong');
    const good = make('good');
    await joinInMemory(hub, good, { token: 'sesame', strict: true });
    await expect(joinInMemory(hub, make('bad'), { token: 'guess', strict: true })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(joinInMemory(hub, make('none'), { strict: true })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(hub.registry.connected()).toEqual(['good']);
    expect(await good.call('trainer', 'ping', [])).toBe('pong');
  });

  it('checks per-client tokens with an authenticate function that sees the whole hello', async () => {
    const tokens: Record<string, string> = { a: 'ta', b: 'tb' };
    const seen: HelloFrame[] = [];
    const hub = make('trainer', {
      authenticate: async (hello) => (seen.push(hello), tokens[hello.src] === hello.token),
    });
    await joinInMemory(hub, make('a'), { token: 'ta' });
    await expect(joinInMemory(hub, make('b'), { token: 'ta' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(seen.map((h) => h.src)).toEqual(['a', 'b']);
  });

  it('refuses a hello of another protocol version with VERSION_MISMATCH and closes that link', async () => {
    const hub = make('trainer');
    const [a, b] = memoryLinkPair({ strict: true });
    hub.accept(a);
    const raw = new RawPeer(b);
    raw.hello('old', { version: 99 });
    const error = await raw.next('error');
    expect(error.error).toMatchObject({
      code: 'VERSION_MISMATCH',
      message: expect.stringMatching(/version 99/),
    });
    expect(await raw.closed()).toMatch(/VERSION_MISMATCH/);
    expect(hub.registry.size).toBe(0);
  });

  it('refuses an id that is invalid or the hub own', async () => {
    const hub = make('trainer');
    for (const id of ['trainer', 'has space', '']) {
      const [a, b] = memoryLinkPair();
      hub.accept(a);
      const raw = new RawPeer(b);
      raw.hello(id);
      expect((await raw.next('error')).error.code).toBe('BAD_FRAME');
      await raw.closed();
    }
  });

  it('lets a reconnecting learner take over its connected id with the resume secret of its welcome', async () => {
    const hub = make('trainer');
    const first = make('l1');
    first.handle('who', () => 'first');
    const { resume } = await joinInMemory(hub, first);
    const lost = nextEvent(first.events, 'PEER_DISCONNECTED');
    const second = make('l1');
    second.handle('who', () => 'second');
    const again = nextEvent(hub.events, 'CLIENT_REGISTERED');
    const renewed = await joinInMemory(hub, second, { resume });
    // The takeover replaced a registration still open: a return, not a newcomer.
    expect((await again)[0]).toMatchObject({ id: 'l1', state: 'connected', previous: 'connected' });
    expect((await lost)[1]).toMatch(/replaced/);
    expect(await hub.call('l1', 'who', [])).toBe('second');
    expect(hub.registry.list()).toHaveLength(1);
    expect(hub.registry.get('l1')?.state).toBe('connected');
    expect(renewed.resume).toMatch(/^[0-9a-f]{32}$/);
    expect(renewed.resume).not.toBe(resume);
  });

  it('refuses, with ID_TAKEN, a newcomer that claims a connected id without its secret, and keeps the incumbent', async () => {
    const hub = make('trainer');
    const incumbent = make('l1');
    incumbent.handle('who', () => 'incumbent');
    const { resume } = await joinInMemory(hub, incumbent);
    // A wrong last character: never the secret itself (a fixed '0' is the secret one time in 16).
    const nearMiss = `${resume!.slice(0, 31)}${resume!.endsWith('0') ? '1' : '0'}`;
    for (const claim of [undefined, 'f'.repeat(32), nearMiss]) {
      const [a, b] = memoryLinkPair({ strict: true });
      hub.accept(a);
      const raw = new RawPeer(b);
      raw.hello('l1', claim === undefined ? {} : { resume: claim });
      expect((await raw.next('error')).error).toMatchObject({ code: 'ID_TAKEN' });
      expect(await raw.closed()).toMatch(/^ID_TAKEN/);
    }
    expect(await hub.call('l1', 'who', [])).toBe('incumbent');
    expect(hub.registry.get('l1')?.state).toBe('connected');
  });

  it('lets an id that is no longer connected be registered afresh, without a secret', async () => {
    const hub = make('trainer');
    const first = make('l1');
    await joinInMemory(hub, first);
    const gone = nextEvent(hub.events, 'CLIENT_UNREGISTERED');
    first.close('reload');
    await gone;
    const second = make('l1');
    await expect(joinInMemory(hub, second)).resolves.toMatchObject({ id: 'trainer' });
  });

  it('admits per-learner credentials, and lets the holder of its own credential take over its id', async () => {
    const hub = make('trainer', {
      authenticate: 'shared',
      credentials: { l1: 'own-secret-1', l2: 'own-secret-2' },
    });
    hub.handle('ping', () => 'pong');
    const first = make('l1');
    await joinInMemory(hub, first, { token: 'own-secret-1' });
    // Another learner's credential, and the shared token, do not prove who l1 is.
    await expect(joinInMemory(hub, make('l1'), { token: 'own-secret-2' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(joinInMemory(hub, make('l1'), { token: 'shared' })).rejects.toMatchObject({
      code: 'ID_TAKEN',
    });
    await expect(joinInMemory(hub, make('l3'), { token: 'shared' })).resolves.toMatchObject({
      id: 'trainer',
    });
    const lost = nextEvent(first.events, 'PEER_DISCONNECTED');
    const second = make('l1');
    await joinInMemory(hub, second, { token: 'own-secret-1' });
    expect((await lost)[1]).toMatch(/replaced/);
    expect(await second.call('trainer', 'ping', [])).toBe('pong');
  });

  it('admits only per-learner credentials when no shared token is set', async () => {
    const hub = make('trainer', { credentials: (id) => (id === 'l1' ? 'c1' : undefined) });
    await expect(joinInMemory(hub, make('l1'), { token: 'c1' })).resolves.toMatchObject({ id: 'trainer' });
    await expect(joinInMemory(hub, make('l2'), { token: 'c1' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(joinInMemory(hub, make('l3'))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('announces CLIENT_UNREGISTERED when a learner says goodbye, and CLIENT_DISCONNECTED when its link drops', async () => {
    const hub = make('trainer');
    const polite = make('polite');
    const rude = make('rude');
    await joinInMemory(hub, polite);
    const [a, b] = memoryLinkPair();
    hub.accept(a);
    await rude.connect(b);
    const unregistered = nextEvent(hub.events, 'CLIENT_UNREGISTERED');
    polite.close('done');
    expect((await unregistered)[0]).toMatchObject({ id: 'polite', state: 'unregistered' });
    const disconnected = nextEvent(hub.events, 'CLIENT_DISCONNECTED');
    b.close('cable pulled');
    expect((await disconnected)[0]).toMatchObject({
      id: 'rude',
      state: 'disconnected',
      reason: 'cable pulled',
    });
    expect(hub.registry.connected()).toEqual([]);
  });

  it('refuses frames sent before the handshake, and a second hello', async () => {
    const hub = make('trainer');
    const [a, b] = memoryLinkPair();
    hub.accept(a);
    const early = new RawPeer(b);
    early.send({ kind: 'call', id: 1, src: 'x', dst: 'trainer', method: 'm', args: [] });
    expect((await early.next('error')).error).toMatchObject({
      code: 'BAD_FRAME',
      message: expect.stringMatching(/before the handshake/),
    });
    await early.closed();

    const [c, d] = memoryLinkPair();
    hub.accept(c);
    const twice = new RawPeer(d);
    twice.hello('t');
    await twice.next('welcome');
    twice.hello('t');
    expect((await twice.next('error')).error.message).toMatch(/unexpected hello/);
    await twice.closed();
  });

  it('closes a link whose peer claims to be another node, and keeps serving the others', async () => {
    const hub = make('trainer');
    hub.handle('x', () => 1);
    const honest = make('honest');
    await joinInMemory(hub, honest);
    const [a, b] = memoryLinkPair();
    hub.accept(a);
    const liar = new RawPeer(b);
    liar.hello('liar');
    await liar.next('welcome');
    liar.send({ kind: 'call', id: 1, src: 'honest', dst: 'trainer', method: 'x', args: [] });
    expect((await liar.next('error')).error.message).toMatch(/claiming to be from "honest"/);
    await liar.closed();
    expect(await honest.call('trainer', 'x', [])).toBe(1);
  });

  it("a learner closes a refused join with the refusal's code first (so the close code says it), never with the trainer's words alone", async () => {
    for (const [answer, expected] of [
      [
        {
          kind: 'error',
          id: 0,
          src: 'trainer',
          dst: 'l1',
          error: { name: 'Error', message: 'anything the trainer says' },
        },
        /^BAD_FRAME: the join was refused out of protocol: anything the trainer says$/,
      ],
      [
        {
          kind: 'error',
          id: 0,
          src: 'trainer',
          dst: 'l1',
          error: { name: 'OiafedError', code: 'UNAUTHORIZED', protocol: true, message: 'wrong token' },
        },
        /^UNAUTHORIZED: wrong token$/,
      ],
      [
        { kind: 'welcome', version: PROTOCOL_VERSION + 1, src: 'trainer', dst: 'l1', role: 'trainer' },
        new RegExp(`^VERSION_MISMATCH: protocol version ${PROTOCOL_VERSION + 1} is not supported`),
      ],
    ] as const) {
      const learner = make('l1');
      const [a, b] = memoryLinkPair({ strict: true });
      const trainer = new RawPeer(a);
      const joined = learner.connect(b);
      await trainer.next('hello');
      trainer.send(answer);
      await expect(joined).rejects.toBeInstanceOf(Error);
      expect(await trainer.closed()).toMatch(expected);
    }
  });

  it('closes a link that never says hello within the connect timeout', async () => {
    const hub = make('trainer', { connectTimeout: 30 });
    const [a, b] = memoryLinkPair();
    hub.accept(a);
    expect(await new RawPeer(b).closed()).toMatch(/no hello within 30 ms/);
  });

  it('waits for a hello as long as accept(link, { helloWithin }) says, longer than the connect timeout', async () => {
    const hub = make('trainer', { connectTimeout: 20 });
    const [a, b] = memoryLinkPair();
    hub.accept(a, { helloWithin: 60 });
    const started = Date.now();
    expect(await new RawPeer(b).closed()).toMatch(/no hello within 60 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('fails a join with TIMEOUT when no welcome comes', async () => {
    const learner = make('l1', { connectTimeout: 30 });
    const [, b] = memoryLinkPair();
    await expect(learner.connect(b)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
