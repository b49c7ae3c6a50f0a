import { describe, expect, it } from 'vitest';
import { useBackend } from './model.js';

describe('useBackend', () => {
  it('leaves the process failure listeners as they were once tfjs-backend-wasm has started', async () => {
    const listeners = () => [process.listeners('uncaughtException'), process.listeners('unhandledRejection')];
    const before = listeners();
    await useBackend('wasm');
    // tfjs-backend-wasm's Emscripten module added a listener of each kind that throws again (printing its source).
    expect(listeners()).toEqual(before);
  });
});
