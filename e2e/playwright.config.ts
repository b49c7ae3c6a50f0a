import { defineConfig } from '@playwright/test';
import { chromiumArgs, chromiumPath } from './chromium.js';

export default defineConfig({
  testDir: 'tests',
  timeout: 120_000,
  workers: 1,
  reporter: [['list']],
  // The demo's pages (Vite dev server): the learner page the WebSocket tests open.
  webServer: {
    command: 'npx vite --port 5174 --strictPort --logLevel warn',
    cwd: '../demo',
    url: 'http://127.0.0.1:5174/learner.html',
    timeout: 120_000,
    reuseExistingServer: false,
  },
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
  },
});
