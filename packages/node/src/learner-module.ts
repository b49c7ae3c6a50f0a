// How a worker loads the user's learner module. Node 20 does not run the parent's `--import`
// loaders in a worker (and tsx's loader skips worker threads on purpose), so a learner written in
// TypeScript would fail with "Unknown file extension .ts" although the trainer itself runs under
// tsx. The worker registers tsx itself, and runs the user's own preload modules for other loaders.

const TYPESCRIPT = /\.[cm]?tsx?$/;

/** Whether Node strips types by itself (22.6+ with --experimental-strip-types, on by default from 23.6). */
const nodeReadsTypeScript = Boolean((process.features as { typescript?: string | false }).typescript);

let tsxRegistered = false;

/**
 * Imports `module` (a URL), after each of `preload` (URLs, in order). A TypeScript module is loaded
 * with tsx, registered in this worker once, unless Node reads TypeScript itself or `tsxActive` says
 * the worker already runs under it.
 */
export async function importLearnerModule(
  module: string,
  preload: readonly string[],
  tsxActive: boolean,
): Promise<Record<string, unknown>> {
  for (const url of preload) {
    try {
      await import(url);
    } catch (error) {
      throw new Error(`preload module ${url} failed to load: ${(error as Error).message}`);
    }
  }
  if (TYPESCRIPT.test(new URL(module).pathname) && !tsxActive && !nodeReadsTypeScript && !tsxRegistered)
    await registerTsx(module);
  try {
    return (await import(module)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`learner module ${module} failed to load: ${(error as Error).message}`);
  }
}

async function registerTsx(module: string): Promise<void> {
  let api: { register: () => unknown };
  try {
    // tsx is an optional peer dependency of @oiafed/node: the user's own, when installed.
    api = await import('tsx/esm/api');
  } catch {
    throw new Error(
      `learner module ${module} is TypeScript, which Node does not load in a worker by itself: ` +
        'install tsx next to @oiafed/node (npm i -D tsx), name a compiled .js module, or give ' +
        '`preload` a module that registers your loader',
    );
  }
  api.register();
  tsxRegistered = true;
}
