import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OiafedError, type Strategy } from '@oiafed/core';

/**
 * The strategy a user's module makes: its default export is a Strategy subclass (made with the
 * options) or a function from the options to a strategy. `path` is relative to `base` (the config
 * file's folder). Checked by shape, not by class: the module may hold its own copy of @oiafed/core.
 */
export async function loadStrategyModule(
  path: string,
  base: string,
  options: Record<string, unknown>,
): Promise<Strategy> {
  const url = pathToFileURL(resolve(base, path)).href;
  let made: unknown;
  try {
    const module = (await import(url)) as { default?: unknown };
    const make = module.default;
    if (typeof make !== 'function')
      throw new Error('its default export is not a Strategy class or a function that makes one');
    const isClass = /^class\b/.test(Function.prototype.toString.call(make));
    made = isClass
      ? new (make as new (options: Record<string, unknown>) => unknown)(options)
      : (make as (options: Record<string, unknown>) => unknown)(options);
    made = await made;
  } catch (error) {
    throw new OiafedError(
      'INVALID_CONFIG',
      `federation.strategy.module ${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const strategy = made as Partial<Strategy> | null;
  if (
    typeof strategy?.name !== 'string' ||
    typeof strategy.aggregation !== 'function' ||
    typeof strategy.configureTrain !== 'function'
  ) {
    throw new OiafedError(
      'INVALID_CONFIG',
      `federation.strategy.module ${path} did not make a Strategy (one with a name, configureTrain and aggregation)`,
    );
  }
  return strategy as Strategy;
}
