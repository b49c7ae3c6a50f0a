import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The outsider's test alone (scripts/test-all.sh runs it outside the network namespace the other
 * tests run in: npm installs from the registry). No aliases: it reaches the packages only through
 * the tarballs it installs.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['*.test.ts'],
    environment: 'node',
  },
});
