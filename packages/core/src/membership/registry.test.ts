import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type HelloFrame } from '../wire/envelope.js';
import { DEFAULT_RECENT_DEPARTED, Registry } from './registry.js';

const hello = (src: string, role = 'learner'): HelloFrame => ({
  kind: 'hello',
  version: PROTOCOL_VERSION,
  src,
  role,
  capabilities: [],
  metadata: {},
});

describe('Registry', () => {
  it('keeps every connected client and the recentDeparted that left last, forgetting the oldest departure first', () => {
    const registry = new Registry({ recentDeparted: 2 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) registry.admit(hello(id));
    // Departure order, not registration order, decides who is forgotten.
    registry.depart('c', 'disconnected', 'cable');
    registry.depart('a', 'unregistered', 'bye');
    expect(registry.list().map((c) => c.id)).toEqual(['b', 'd', 'e', 'c', 'a']);
    registry.depart('b', 'timeout', 'silent');
    expect(registry.get('c')).toBeUndefined();
    expect(registry.list().map((c) => [c.id, c.state])).toEqual([
      ['d', 'connected'],
      ['e', 'connected'],
      ['a', 'unregistered'],
      ['b', 'timeout'],
    ]);
    expect(registry.size).toBe(4);
    expect(registry.connected()).toEqual(['d', 'e']);
    expect(registry.list({ state: 'timeout' }).map((c) => c.id)).toEqual(['b']);
  });

  it('recognises an id that comes back while remembered, with the state it left in, and treats a forgotten one as new', () => {
    const registry = new Registry({ recentDeparted: 1 });
    registry.admit(hello('a'));
    registry.admit(hello('b'));
    registry.depart('a', 'disconnected', 'cable');
    registry.depart('b', 'unregistered', 'bye');
    const back = registry.admit(hello('b', 'evaluator'));
    expect(back).toMatchObject({ id: 'b', role: 'evaluator', state: 'connected', previous: 'unregistered' });
    expect(back).not.toHaveProperty('reason');
    expect(registry.get('b')).toBe(back);
    const stranger = registry.admit(hello('a'));
    expect(stranger).not.toHaveProperty('previous');
    expect(registry.size).toBe(2);
  });

  it("marks a registration that replaces a still connected one as previous 'connected'", () => {
    const registry = new Registry();
    registry.admit(hello('a'));
    expect(registry.admit(hello('a'))).toMatchObject({ state: 'connected', previous: 'connected' });
    expect(registry.size).toBe(1);
  });

  it('with recentDeparted 0 forgets a client as it leaves, and still reports its departure', () => {
    const registry = new Registry({ recentDeparted: 0 });
    registry.admit(hello('a'));
    expect(registry.depart('a', 'disconnected', 'cable')).toMatchObject({
      id: 'a',
      state: 'disconnected',
      reason: 'cable',
    });
    expect(registry.size).toBe(0);
    expect(registry.depart('a', 'disconnected', 'again')).toBeUndefined();
  });

  it('prune() forgets every departed client and keeps the connected ones', () => {
    const registry = new Registry();
    for (const id of ['a', 'b']) registry.admit(hello(id));
    registry.depart('a', 'timeout', 'silent');
    registry.view.prune();
    expect(registry.view.list().map((c) => c.id)).toEqual(['b']);
  });

  it('remembers DEFAULT_RECENT_DEPARTED departed clients by default, and refuses a negative or fractional bound with INVALID_CONFIG', () => {
    const registry = new Registry();
    for (let i = 0; i <= DEFAULT_RECENT_DEPARTED; i++) {
      registry.admit(hello(`l${i}`));
      registry.depart(`l${i}`, 'disconnected', 'gone');
    }
    expect(registry.size).toBe(DEFAULT_RECENT_DEPARTED);
    expect(registry.get('l0')).toBeUndefined();
    for (const recentDeparted of [-1, 1.5, Number.NaN]) {
      expect(() => new Registry({ recentDeparted })).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/recentDeparted/) }),
      );
    }
  });
});
