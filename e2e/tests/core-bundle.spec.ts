import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));
const bundle = createRequire(import.meta.url).resolve('@oiafed/core/bundle');
const scenario = join(here, 'fixtures/core-scenario.js');
/** What fixtures/core-scenario.js exports (plain JavaScript, loaded by URL). */
interface Scenario {
  coreScenario: (core: unknown) => Promise<unknown>;
}
const expected = {
  registered: ['a', 'b'],
  scaledType: 'Float32Array',
  scaled: [2, 4, 6],
  rounds: [1, 1],
  missing: 'METHOD_NOT_FOUND',
};

test('the core bundle loads and runs in Node', async () => {
  const core: unknown = await import(pathToFileURL(bundle).href);
  const { coreScenario } = (await import(pathToFileURL(scenario).href)) as Scenario;
  expect(await coreScenario(core)).toEqual(expected);
});

test('the same core bundle loads and runs in Chromium', async ({ page }) => {
  const files: Record<string, string> = {
    '/': '<!doctype html><title>core bundle</title>',
    '/oiafed-core.js': readFileSync(bundle, 'utf8'),
    '/core-scenario.js': readFileSync(scenario, 'utf8'),
  };
  // Served from memory: no server, no network.
  await page.route('http://oiafed.test/**', (route) => {
    const path = new URL(route.request().url()).pathname;
    const body = files[path];
    return body === undefined
      ? route.fulfill({ status: 404 })
      : route.fulfill({ body, contentType: path.endsWith('.js') ? 'text/javascript' : 'text/html' });
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('http://oiafed.test/');
  const result: unknown = await page.evaluate(async () => {
    // Named through variables, so that the compiler does not look for these modules itself.
    const coreUrl = '/oiafed-core.js';
    const scenarioUrl = '/core-scenario.js';
    const core: unknown = await import(coreUrl);
    const { coreScenario } = (await import(scenarioUrl)) as Scenario;
    return coreScenario(core);
  });
  expect(result).toEqual(expected);
  expect(errors).toEqual([]);
});
