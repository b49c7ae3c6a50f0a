import { afterEach, describe, expect, it } from 'vitest';
import { currentCall } from './call-context.js';
import { isOiafedError, OiafedError, RemoteError } from '../wire/errors.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import { star, type Star } from '../test-support.js';

class Learner {
  trained = 0;
  train(params: { lr: number; weights: Float32Array }) {
    this.trained += 1;
    return { weights: params.weights.map((w) => w - params.lr), numExamples: 10 };
  }
  async evaluate() {
    return { accuracy: 0.5 };
  }
  greet(name: string, punctuation = '!') {
    return `hello ${name}${punctuation}`;
  }
  fail(): never {
    const error = new TypeError('bad shape', { cause: new RangeError('dim 3 > 2') });
    (error as TypeError & { code: string }).code = 'E_SHAPE';
    throw error;
  }
  _secret() {
    return 'hidden';
  }
  hang(): Promise<void> {
    const { signal } = currentCall();
    return new Promise((_resolve, reject) =>
      signal.addEventListener('abort', () => reject(new Error(String(signal.reason)))),
    );
  }
  unsendable() {
    return { fn: () => 1 };
  }
}

let net: Star;
// Unset when a test failed before making its network.
afterEach(() => (net as Star | undefined)?.close());

describe('Node calls', () => {
  it('refuses, before sending, names and reasons the wire would refuse, and the link stays up', async () => {
    net = await star(1);
    const long = 'x'.repeat(257);
    await expect(net.hub.call('leaf-0', long, [])).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(net.hub.emitWithAck('leaf-0', long, 1)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(() => net.hub.emit('leaf-0', long, 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    net.leaves[0]!.handle('ok', () => 'ok');
    expect(await net.hub.call('leaf-0', 'ok', [])).toBe('ok');
    const [, side] = memoryLinkPair();
    expect(() =>
      net.leaves[0]!.connect(side, { capabilities: Array.from({ length: 65 }, () => 'c') }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it("cuts a goodbye's reason to what the wire takes, so the peer hears it", async () => {
    net = await star(1);
    const heard = new Promise<string>((resolve) =>
      net.hub.events.on('CLIENT_UNREGISTERED', (c) => resolve(c.reason ?? '')),
    );
    net.leaves[0]!.disconnect('hub', 'r'.repeat(5000));
    expect((await heard).length).toBeLessThanOrEqual(1024);
  });

  it('calls a served method through a typed proxy and returns its result', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    const learner = net.hub.proxy<Learner>('leaf-0');
    const result = await learner.train({ lr: 0.5, weights: new Float32Array([1, 2]) });
    expect(result.numExamples).toBe(10);
    expect(result.weights).toBeInstanceOf(Float32Array);
    expect(Array.from(result.weights)).toEqual([0.5, 1.5]);
    expect(await learner.evaluate()).toEqual({ accuracy: 0.5 });
  });

  it('calls any exposed method by name with $call, with all its arguments', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    const learner = net.hub.proxy<Learner>('leaf-0');
    expect(await learner.$call('greet', 'ada', '?')).toBe('hello ada?');
    expect(await net.hub.call('leaf-0', 'greet', ['bob'])).toBe('hello bob!');
  });

  it('calls in both directions: a learner can call its trainer too', async () => {
    net = await star(1);
    net.hub.handle('config', () => ({ rounds: 3 }));
    expect(await net.leaves[0]!.proxy<{ config(): { rounds: number } }>('hub').config()).toEqual({
      rounds: 3,
    });
  });

  it('has no then, so awaiting a proxy resolves to the proxy itself instead of hanging', async () => {
    net = await star(1);
    const learner = net.hub.proxy<Learner>('leaf-0');
    expect((learner as unknown as { then?: unknown }).then).toBeUndefined();
    // eslint-disable-next-line @typescript-eslint/await-thenable -- awaiting a proxy is what is tested
    expect(await learner).toBe(learner);
  });

  it('refuses unknown methods with METHOD_NOT_FOUND', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    await expect(net.hub.call('leaf-0', 'fit', [])).rejects.toMatchObject({
      code: 'METHOD_NOT_FOUND',
      message: expect.stringMatching(/no method "fit"/),
    });
  });

  it('never exposes constructor, __proto__, prototype internals or _private names', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    for (const name of [
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '__defineGetter__',
      '_secret',
      'trained',
    ]) {
      await expect(net.hub.call('leaf-0', name, []), name).rejects.toMatchObject({
        code: 'METHOD_NOT_FOUND',
      });
    }
    expect(() => net.leaves[0]!.serve({}, { methods: ['toString'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });

  it('delivers a remote exception as a RemoteError with name, message, code and cause, but no stack by default', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    const error = await net.hub.call('leaf-0', 'fail', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    const remote = error as RemoteError;
    expect(remote.code).toBe('REMOTE_ERROR');
    expect(remote.remoteName).toBe('TypeError');
    expect(remote.message).toBe('bad shape');
    expect(remote.remoteCode).toBe('E_SHAPE');
    expect(remote.origin).toBe('leaf-0');
    expect(remote.remoteStack).toBeUndefined();
    expect(remote.cause).toBeInstanceOf(RemoteError);
    expect((remote.cause as RemoteError).remoteName).toBe('RangeError');
    expect((remote.cause as RemoteError).message).toBe('dim 3 > 2');
  });

  it('sends the remote stack when the serving node is configured to expose it', async () => {
    net = await star(1, { leaf: { exposeStack: true } });
    net.leaves[0]!.serve(new Learner());
    const error = (await net.hub.call('leaf-0', 'fail', []).catch((e: unknown) => e)) as RemoteError;
    expect(error.remoteStack).toMatch(/bad shape/);
  });

  it('times out a call with TIMEOUT and cancels it on the remote side', async () => {
    net = await star(1);
    const learner = new Learner();
    net.leaves[0]!.serve(learner);
    const cancelled = new Promise<string>((resolve) => {
      net.leaves[0]!.handle('hang', () => {
        const { signal } = currentCall();
        return new Promise((_r, reject) =>
          signal.addEventListener('abort', () => {
            resolve(String(signal.reason));
            reject(new Error('stopped'));
          }),
        );
      });
    });
    await expect(net.hub.proxy<Learner>('leaf-0', { timeout: 30 }).hang()).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    expect(await cancelled).toMatch(/timed out after 30 ms/);
  });

  it('cancels a call through AbortSignal with ABORTED, and the handler sees its signal abort', async () => {
    net = await star(1);
    let seen: AbortSignal | undefined;
    const aborted = new Promise<void>((resolve) => {
      net.leaves[0]!.handle('hang', () => {
        seen = currentCall().signal;
        return new Promise((_r, reject) =>
          seen!.addEventListener('abort', () => {
            resolve();
            reject(new Error('x'));
          }),
        );
      });
    });
    const controller = new AbortController();
    const pending = net.hub.proxy<Learner>('leaf-0').$with({ signal: controller.signal }).hang();
    await net.hub.call('leaf-0', 'nothing', []).catch(() => undefined); // the hang call has reached the leaf by now
    controller.abort('user pressed stop');
    await expect(pending).rejects.toMatchObject({
      code: 'ABORTED',
      message: expect.stringMatching(/user pressed stop/),
    });
    await aborted;
    expect(seen?.aborted).toBe(true);
  });

  it('rejects at once, without sending, when the signal is already aborted', async () => {
    net = await star(1);
    let calls = 0;
    net.leaves[0]!.handle('count', () => ++calls);
    await expect(
      net.hub.call('leaf-0', 'count', [], { signal: AbortSignal.abort('early') }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await net.hub.call('leaf-0', 'count', [])).toBe(1);
  });

  it('rejects pending calls at once with DISCONNECTED when the peer disconnects, long before their timeout', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    const started = Date.now();
    const pending = net.hub.proxy<Learner>('leaf-0', { timeout: 60_000 }).hang();
    await net.hub.call('leaf-0', 'evaluate', []);
    net.leaves[0]!.close();
    const error = await pending.catch((e: unknown) => e);
    expect(isOiafedError(error, 'DISCONNECTED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('aborts the handler of a caller that disconnected', async () => {
    net = await star(1);
    const aborted = new Promise<void>((resolve) =>
      net.hub.handle('hang', () => {
        const { signal } = currentCall();
        return new Promise(() => signal.addEventListener('abort', () => resolve()));
      }),
    );
    void net.leaves[0]!.call('hub', 'hang', []).catch(() => undefined);
    await net.leaves[0]!.call('hub', 'nothing', []).catch(() => undefined);
    net.leaves[0]!.close();
    await aborted;
  });

  it('tells the caller when a result cannot be sent, instead of leaving it waiting', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    await expect(net.hub.proxy<Learner>('leaf-0').unsendable()).rejects.toMatchObject({
      code: 'REMOTE_ERROR',
      message: expect.stringMatching(/function/),
    });
  });

  it('refuses arguments that cannot cross the wire, at the sender', async () => {
    net = await star(1);
    net.leaves[0]!.serve(new Learner());
    await expect(net.hub.call('leaf-0', 'greet', [() => 1])).rejects.toMatchObject({
      code: 'NOT_SERIALIZABLE',
    });
  });

  it('refuses an unknown target with UNKNOWN_TARGET and sending to itself', async () => {
    net = await star(1);
    await expect(net.hub.call('nobody', 'x', [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    await expect(net.hub.call('hub', 'x', [])).rejects.toMatchObject({
      code: 'UNKNOWN_TARGET',
      message: expect.stringMatching(/itself/),
    });
    const lone = new Node({ id: 'lone', heartbeat: false });
    await expect(lone.call('hub', 'x', [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    lone.close();
  });

  it('rejects calls on a closed node with CLOSED', async () => {
    net = await star(1);
    net.hub.close();
    await expect(net.hub.call('leaf-0', 'x', [])).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('uses per-node timeouts: a slow node times out while a fast one answers', async () => {
    net = await star(2);
    net.leaves[0]!.handle('work', () => new Promise(() => undefined));
    net.leaves[1]!.handle('work', () => 'done');
    const slow = net.hub.proxy<{ work(): string }>('leaf-0', { timeout: 20 });
    const fast = net.hub.proxy<{ work(): string }>('leaf-1', { timeout: 5_000 });
    const [a, b] = await Promise.allSettled([slow.work(), fast.work()]);
    expect(a.status === 'rejected' && (a.reason as OiafedError).code).toBe('TIMEOUT');
    expect(b).toEqual({ status: 'fulfilled', value: 'done' });
  });

  it('generates a node id when none is given, and refuses an invalid one', () => {
    const node = new Node({ role: 'learner', heartbeat: false });
    expect(node.id).toMatch(/^learner-[0-9a-f]{12}$/);
    expect(() => new Node({ id: 'a b' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => new Node({ id: '*' })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    node.close();
  });

  it('runs calls in memory without strict mode too', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false });
    const leaf = new Node({ id: 'leaf', heartbeat: false });
    await joinInMemory(hub, leaf);
    leaf.serve(new Learner());
    expect(await hub.proxy<Learner>('leaf').greet('x')).toBe('hello x!');
    hub.close();
    leaf.close();
  });
});
