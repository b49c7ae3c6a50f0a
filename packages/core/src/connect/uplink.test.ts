import { afterEach, describe, expect, it } from 'vitest';
import { memoryLinkPair } from '../links/memory-link.js';
import { Node } from '../rpc/node.js';
import { nextEvent } from '../test-support.js';
import { Uplink, type ResumeStore } from './uplink.js';

const nodes: Node[] = [];
const uplinks: Uplink[] = [];
afterEach(() => {
  uplinks.splice(0).forEach((u) => u.close());
  nodes.splice(0).forEach((n) => n.close());
});

function memoryStore(): ResumeStore & { secret: string | undefined } {
  return {
    secret: undefined,
    load() {
      return this.secret;
    },
    save(secret) {
      this.secret = secret;
    },
  };
}

/** A learner page: a fresh node under a fixed id, joining `hub` with an uplink. */
function page(hub: Node, id: string, store: ResumeStore | undefined, maxAttempts = 1): Uplink {
  const node = new Node({ id, role: 'learner', heartbeat: false });
  nodes.push(node);
  const uplink = new Uplink({
    node,
    connect: async () => {
      const [hubSide, leafSide] = memoryLinkPair({ strict: true });
      hub.accept(hubSide);
      return leafSide;
    },
    retry: { maxAttempts, initialDelay: 1, maxDelay: 1 },
    ...(store ? { resumeStore: store } : {}),
  });
  uplinks.push(uplink);
  return uplink;
}

describe('Uplink resume secrets', () => {
  it('saves the secret of each welcome, and a reloaded page presenting it takes over its id at once', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false });
    nodes.push(hub);
    const store = memoryStore();
    const before = page(hub, 'tab-1', store);
    await before.start();
    const first = store.secret;
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    // The old page's link is still registered (the trainer has not noticed it is gone).
    const replaced = nextEvent(nodes[1]!.events, 'PEER_DISCONNECTED');
    const after = page(hub, 'tab-1', store);
    await after.start();
    expect((await replaced)[1]).toMatch(/replaced/);
    expect(store.secret).not.toBe(first);
    expect(hub.registry.connected()).toEqual(['tab-1']);
  });

  it('is refused with ID_TAKEN while the id is connected, when the page lost its secret', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false });
    nodes.push(hub);
    await page(hub, 'tab-1', memoryStore()).start();
    await expect(page(hub, 'tab-1', memoryStore()).start()).rejects.toMatchObject({ code: 'ID_TAKEN' });
  });

  it('keeps trying after ID_TAKEN, and joins once the old link is gone', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false });
    nodes.push(hub);
    const old = page(hub, 'tab-1', undefined);
    await old.start();
    const retrying = page(hub, 'tab-1', undefined, 50);
    const refused = new Promise<void>((resolve) =>
      retrying.events.on(
        'status',
        (status, detail) => status === 'connecting' && detail.error?.code === 'ID_TAKEN' && resolve(),
      ),
    );
    const joined = retrying.start();
    await refused;
    old.close();
    await expect(joined).resolves.toMatchObject({ id: 'hub' });
  });
});
