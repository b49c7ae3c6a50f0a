import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { CodeBlock } from './markdown.js';
import type { Problem } from './problem.js';

/**
 * Type-checks the README's TypeScript blocks as a user's code: strict (the repository's own
 * compiler options), each block a module of its own, `@oiafed/*` resolved to what the packages
 * export (their built declarations, as an installed package gives them). A block that imports a
 * browser package (`@oiafed/browser`, `@oiafed/dashboard`) or uses `document` or `window` is
 * checked with the DOM library and without Node's types, as a page's code; any other with Node's.
 */
export function checkTypeScript(blocks: readonly CodeBlock[], root: string): Problem[] {
  const browser = blocks.filter(needsDom);
  const node = blocks.filter((b) => !needsDom(b));
  return [
    ...checkProgram(node, root, { lib: ['lib.es2022.d.ts'], types: ['node'] }),
    ...checkProgram(browser, root, { lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [] }),
  ].sort((a, b) => a.line - b.line);
}

const BROWSER_ONLY = /from\s+['"]@oiafed\/(browser|dashboard)['"]|\b(document|window)\./;

function needsDom(block: CodeBlock): boolean {
  return BROWSER_ONLY.test(block.code);
}

/** The repository's compiler options (tsconfig.base.json), for code that is checked, not built. */
function baseOptions(root: string): ts.CompilerOptions {
  const file = join(root, 'tsconfig.base.json');
  const read = ts.readConfigFile(file, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root, undefined, file);
  return {
    ...parsed.options,
    noEmit: true,
    composite: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    incremental: false,
    // A block with no import or export is still a module of its own, as the README promises.
    moduleDetection: ts.ModuleDetectionKind.Force,
  };
}

/** `@oiafed/x[/sub]` -> its declarations, from each workspace package's `exports` map. */
function packagePaths(root: string): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  const packages = join(root, 'packages');
  for (const dir of readdirSync(packages)) {
    const manifest = JSON.parse(readFileSync(join(packages, dir, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, string | { types?: string }>;
    };
    for (const [sub, target] of Object.entries(manifest.exports ?? {})) {
      if (typeof target === 'string' || target.types === undefined) continue;
      const name = sub === '.' ? manifest.name : `${manifest.name}/${sub.slice(2)}`;
      paths[name] = [join(packages, dir, target.types)];
    }
  }
  return paths;
}

function checkProgram(
  blocks: readonly CodeBlock[],
  root: string,
  env: { lib: string[]; types: string[] },
): Problem[] {
  if (blocks.length === 0) return [];
  const options: ts.CompilerOptions = { ...baseOptions(root), ...env, paths: packagePaths(root) };
  // Each block is a file beside the README (in the root package: ESM, top-level await allowed).
  const files = new Map(blocks.map((b) => [join(root, `readme-block-line-${b.line}.ts`), b]));
  // The compiler's own host, with the blocks as files only it sees.
  const disk = ts.createCompilerHost(options);
  const host: ts.CompilerHost = {
    ...disk,
    fileExists: (file) => files.has(file) || disk.fileExists(file),
    readFile: (file) => files.get(file)?.code ?? disk.readFile(file),
    getSourceFile: (file, language, onError, create) => {
      const block = files.get(file);
      return block
        ? ts.createSourceFile(file, block.code, language, true, ts.ScriptKind.TS)
        : disk.getSourceFile(file, language, onError, create);
    },
  };
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const problems: Problem[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = `ts(${diagnostic.code}): ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
    const block = diagnostic.file && files.get(diagnostic.file.fileName);
    if (diagnostic.file && block && diagnostic.start !== undefined) {
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      // The block's code starts on the line after its fence.
      problems.push({ line: block.line + 1 + line, message });
    } else {
      const where = diagnostic.file ? ` (in ${diagnostic.file.fileName})` : '';
      problems.push({ line: blocks[0]!.line, message: `${message}${where}` });
    }
  }
  return problems;
}
