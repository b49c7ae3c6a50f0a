import { checkCommands, type CommandTables } from './check-commands.js';
import { checkTypeScript } from './check-typescript.js';
import { checkYaml } from './check-yaml.js';
import { readMarkdown } from './markdown.js';
import type { Problem } from './problem.js';

const TYPESCRIPT = new Set(['ts', 'typescript', 'tsx', 'mts']);
const YAML = new Set(['yaml', 'yml']);

/**
 * Everything the README at `text` says that the checker can hold it to: its TypeScript blocks
 * compile (strict, against the workspace packages, in `root`), its YAML blocks are valid run
 * configs, and its commands and flags exist; skip markers carry their reason. Sorted by line.
 */
export function checkReadme(text: string, root: string, tables: CommandTables): Problem[] {
  const { blocks, spans, markerProblems } = readMarkdown(text);
  const checked = blocks.filter((b) => b.skip === undefined);
  return [
    ...markerProblems,
    ...checkTypeScript(
      checked.filter((b) => TYPESCRIPT.has(b.lang)),
      root,
    ),
    ...checkYaml(checked.filter((b) => YAML.has(b.lang))),
    ...checkCommands(spans, blocks, tables),
  ].sort((a, b) => a.line - b.line);
}
