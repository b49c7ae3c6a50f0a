import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkReadme } from './check-readme.js';
import type { CommandTables } from './check-commands.js';
import { readMarkdown } from './markdown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tables: CommandTables = {
  scripts: new Set(['demo', 'test', 'oiafed']),
  demo: { flags: new Set(['clients', 'fraction', 'help']) },
  oiafed: { flags: new Set(['help']), subcommands: new Set(['serve']) },
  sections: { 'The demo': 'demo' },
};
const check = (lines: string[]) => checkReadme(lines.join('\n'), root, tables);
const fence = '```';

describe('the README checker', () => {
  it('reports a type error in a TypeScript block at its line in the README, and passes strict code', () => {
    const problems = check([
      '# A readme', // 1
      '', // 2
      `${fence}ts`, // 3
      "import { Federation, Node } from '@oiafed/core';", // 4
      '', // 5
      "const federation = new Federation({ node: new Node({ id: 't', role: 'trainer' }), rounds: 2 });", // 6
      'const rounds: string = federation.round;', // 7
      'export function learner(w) { return w; }', // 8
      fence, // 9
      '', // 10
      `${fence}ts`, // 11
      "import { FedAvg } from '@oiafed/core';", // 12
      'declare const weights: number;', // 13
      'export const strategy = new FedAvg();', // 14
      'export const twice = weights * 2;', // 15
      fence, // 16
    ]);
    expect(problems).toEqual([
      {
        line: 7,
        message: expect.stringMatching(/^ts\(2322\): Type 'number' is not assignable to type 'string'/),
      },
      { line: 8, message: expect.stringMatching(/^ts\(7006\): Parameter 'w' implicitly has an 'any' type/) },
    ]);
  });

  it('checks each block as a module of its own: a name declared in one block is not seen by the next', () => {
    const problems = check([
      `${fence}ts`,
      'const shared = 1;',
      fence,
      `${fence}ts`,
      'console.log(shared);',
      fence,
    ]);
    expect(problems).toEqual([{ line: 5, message: "ts(2304): Cannot find name 'shared'." }]);
  });

  it("checks a page's block with the DOM library and without Node's types, any other with Node's and no DOM", () => {
    const problems = check([
      `${fence}ts`, // 1
      "import { Federation, Node } from '@oiafed/core';", // 2
      "import { localFeed, mountDashboard } from '@oiafed/dashboard';", // 3
      "const federation = new Federation({ node: new Node({ id: 't', role: 'trainer' }), rounds: 1 });", // 4
      'mountDashboard(document.body, localFeed(federation));', // 5
      "export { readFileSync } from 'node:fs';", // 6: a page has no node:fs
      fence, // 7
      `${fence}ts`, // 8
      "import { readFileSync } from 'node:fs';", // 9
      "export const text = readFileSync('x', 'utf8');", // 10
      'export let element: HTMLElement | undefined;', // 11: Node has no HTMLElement
      fence, // 12
    ]);
    expect(problems.map((p) => p.line)).toEqual([6, 11]);
    expect(problems[0]!.message).toMatch(/^ts\(2307\): Cannot find module 'node:fs'/);
    expect(problems[1]!.message).toBe("ts(2304): Cannot find name 'HTMLElement'.");
  });

  it('reports a YAML run config with a key the config parser does not know, naming it', () => {
    const problems = check([
      'Text.',
      '',
      `${fence}yaml`,
      'transport: { mode: websocket, port: 8787 }',
      'federation:',
      '  roundz: 3',
      fence,
      `${fence}yaml`,
      'federation: { rounds: 3, minClients: 2, fraction: 0.5 }',
      fence,
    ]);
    expect(problems).toEqual([
      { line: 3, message: expect.stringMatching(/federation\.roundz is not a known setting/) },
    ]);
  });

  it('reports an unknown flag given to the demo or oiafed, a script package.json lacks and an unknown command', () => {
    const problems = check([
      `${fence}sh`, // 1
      'npm run demo -- --clients 100 --fraction 0.1   # a comment may say --anything', // 2
      'npm run demo -- --clients 10 --nope', // 3
      'npm run bench', // 4
      'npm test', // 5
      fence, // 6
      'Run `npm run oiafed -- serve x.yaml --verbose`, `npx oiafed start x.yaml` or `oiafed serve x.yaml`.', // 7
      '## The demo', // 8
      '| `--clients N`, `--fraction F` | `--rounds R` |', // 9
      '## Elsewhere', // 10
      'Chromium takes `--disable-features=X`.', // 11
    ]);
    expect(problems).toEqual([
      { line: 3, message: 'the demo (npm run demo) has no flag --nope' },
      { line: 4, message: 'npm run bench: package.json has no script bench' },
      { line: 7, message: 'oiafed has no flag --verbose' },
      { line: 7, message: 'oiafed has no command start' },
      { line: 9, message: 'the demo (npm run demo) has no flag --rounds' },
    ]);
  });

  it('finds a command in a code span that wraps onto the next line', () => {
    const problems = check(['Then `npm run', 'formatt` fixes it.']);
    expect(problems).toEqual([{ line: 1, message: 'npm run formatt: package.json has no script formatt' }]);
  });

  it('skips a block after a skip marker with its reason, and reports a marker without one', () => {
    const problems = check([
      '<!-- readme-check: skip (pseudo-code: shows the shape only) -->', // 1
      `${fence}ts`, // 2
      'this is not TypeScript', // 3
      fence, // 4
      '<!-- readme-check: skip -->', // 5
      `${fence}yaml`, // 6
      'nope: 1', // 7
      fence, // 8
      '<!-- readme-check: skip () -->', // 9
      `${fence}sh`, // 10
      'npm run nothing', // 11
      fence, // 12
      '<!-- readme-check: skip (a marker far from its block) -->', // 13
      'Some text.', // 14
      'Quoted in prose, `<!-- readme-check: skip -->` is no marker.', // 15
    ]);
    expect(problems).toEqual([
      { line: 5, message: expect.stringMatching(/^a skip marker needs its reason/) },
      { line: 6, message: expect.stringMatching(/nope is not a setting|nope is not a known setting/) },
      { line: 9, message: expect.stringMatching(/^a skip marker needs its reason/) },
      { line: 11, message: 'npm run nothing: package.json has no script nothing' },
      { line: 13, message: 'a skip marker must come just before the code block it skips' },
    ]);
  });

  it('reads blocks with their language and line, and code spans with their section', () => {
    const { blocks, spans } = readMarkdown(
      ['## One', '`a`', '~~~~YAML', '`not a span`', '~~~~', '### Two', 'x `b` y `c', 'd`'].join('\n'),
    );
    expect(blocks).toEqual([{ lang: 'yaml', code: '`not a span`', line: 3, skip: undefined }]);
    expect(spans).toEqual([
      { text: 'a', line: 2, section: 'One' },
      { text: 'b', line: 7, section: 'Two' },
      { text: 'c d', line: 7, section: 'Two' },
    ]);
  });
});
