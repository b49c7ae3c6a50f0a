import { fileURLToPath } from 'node:url';
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { chromiumArgs, chromiumPath } from './e2e/chromium.js';

const src = (pkg: string, entry = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${entry}.ts`, import.meta.url));

// Exact names: '@oiafed/core' must not also catch '@oiafed/core/internal'.
const alias = [
  { find: /^@oiafed\/core$/, replacement: src('core') },
  { find: /^@oiafed\/core\/internal$/, replacement: src('core', 'internal') },
  { find: /^@oiafed\/node$/, replacement: src('node') },
  { find: /^@oiafed\/browser$/, replacement: src('browser') },
  { find: /^@oiafed\/dashboard$/, replacement: src('dashboard') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'node',
          include: ['packages/*/src/**/*.test.ts', 'demo/src/**/*.test.ts', 'scripts/readme/*.test.ts'],
          exclude: ['packages/browser/**'],
          environment: 'node',
          testTimeout: 20_000,
          typecheck: {
            enabled: true,
            include: ['packages/*/src/**/*.test-d.ts'],
            tsconfig: 'tsconfig.typetest.json',
          },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'chromium',
          include: ['packages/core/src/**/*.test.ts', 'packages/browser/src/**/*.test.ts'],
          testTimeout: 20_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
