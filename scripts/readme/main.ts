// npm run check:readme: holds README.md to what the code does (see check-readme.ts). Prints one
// line per problem, `README.md:<line>: <what>`, and exits 1 if there is any.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEMO_OPTIONS } from '../../demo/src/demo-args.js';
import { OIAFED_COMMANDS, OIAFED_OPTIONS } from '../../packages/node/src/cli-args.js';
import { checkReadme } from './check-readme.js';
import { readMarkdown } from './markdown.js';
import type { CommandTables } from './check-commands.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  scripts: Record<string, string>;
};

export const TABLES: CommandTables = {
  scripts: new Set(Object.keys(manifest.scripts)),
  demo: { flags: new Set(Object.keys(DEMO_OPTIONS)) },
  oiafed: { flags: new Set(Object.keys(OIAFED_OPTIONS)), subcommands: new Set(OIAFED_COMMANDS) },
  // Where the README lists flags as code spans, which program they belong to.
  sections: {
    'What the demo does': 'demo',
    'The same run in other modes': 'demo',
    'oiafed serve': 'oiafed',
  },
};

const readme = readFileSync(`${root}README.md`, 'utf8');
const problems = checkReadme(readme, root, TABLES);
for (const { line, message } of problems) console.error(`README.md:${line}: ${message}`);
if (problems.length) {
  console.error(`check:readme: ${problems.length} problem${problems.length === 1 ? '' : 's'} in README.md`);
  process.exitCode = 1;
} else {
  const { blocks } = readMarkdown(readme);
  const count = (langs: string[]) =>
    blocks.filter((b) => langs.includes(b.lang) && b.skip === undefined).length;
  console.log(
    `check:readme: README.md holds: ${count(['ts', 'typescript'])} TypeScript blocks compile, ` +
      `${count(['yaml', 'yml'])} run configs load, its commands and flags exist` +
      ` (${blocks.filter((b) => b.skip !== undefined).length} blocks skipped)`,
  );
}
