import { parseConfig } from '../../packages/node/src/config-file.js';
import type { CodeBlock } from './markdown.js';
import type { Problem } from './problem.js';

/**
 * Each YAML block is a run config: it must parse and pass the same checks `oiafed serve` and
 * `loadConfig` apply (`parseConfig`: YAML, then `resolveConfig`), which name the field at fault.
 */
export function checkYaml(blocks: readonly CodeBlock[]): Problem[] {
  const problems: Problem[] = [];
  for (const block of blocks) {
    try {
      parseConfig(block.code, 'this run config');
    } catch (error) {
      problems.push({ line: block.line, message: error instanceof Error ? error.message : String(error) });
    }
  }
  return problems;
}
