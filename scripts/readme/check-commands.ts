import type { CodeBlock, CodeSpan } from './markdown.js';
import type { Problem } from './problem.js';

/** A command line program the README gives flags to: its flags and, if it has any, its subcommands. */
export interface CommandLine {
  /** Long flags without their dashes (`clients`), as in its parseArgs options table. */
  flags: ReadonlySet<string>;
  subcommands?: ReadonlySet<string>;
}

export interface CommandTables {
  /** The root package.json's scripts: what `npm run X` can run. */
  scripts: ReadonlySet<string>;
  /** `npm run demo -- ...` */
  demo: CommandLine;
  /** `npm run oiafed -- ...`, `npx oiafed ...`, `oiafed ...` */
  oiafed: CommandLine;
  /** Sections (`##`/`###` titles) whose code spans that start with `--` are flags of that program. */
  sections: Readonly<Record<string, 'demo' | 'oiafed'>>;
}

const SHELL = new Set(['sh', 'shell', 'bash', 'console']);
/** `npm run X`, `npm test`, `npm start`: X is a script of the root package.json. */
const NPM = /\bnpm\s+(run(?:-script)?|test|start)\b(?:\s+([\w:.-]+))?/g;
const FLAG = /(?:^|[\s[(|])--([a-zA-Z][\w-]*)/g;

/**
 * Every `npm run` script the README names exists, and every flag it gives the demo or `oiafed`
 * (in a command, or as a code span in a section about that program) is in its options table.
 */
export function checkCommands(
  spans: readonly CodeSpan[],
  blocks: readonly CodeBlock[],
  tables: CommandTables,
): Problem[] {
  const problems: Problem[] = [];
  const check = (text: string, line: number) => problems.push(...checkLine(text, line, tables));
  for (const span of spans) {
    check(span.text, span.line);
    const program = tables.sections[span.section];
    if (program && span.text.startsWith('--')) {
      for (const flag of flagsIn(span.text)) {
        if (!tables[program].flags.has(flag))
          problems.push({ line: span.line, message: `${describe(program)} has no flag --${flag}` });
      }
    }
  }
  for (const block of blocks) {
    if (!SHELL.has(block.lang) || block.skip !== undefined) continue;
    block.code.split('\n').forEach((text, i) => check(text, block.line + 1 + i));
  }
  return problems;
}

const describe = (program: 'demo' | 'oiafed') => (program === 'demo' ? 'the demo (npm run demo)' : 'oiafed');

/** The commands in one line of shell (comments cut off) or one code span. */
function checkLine(text: string, line: number, tables: CommandTables): Problem[] {
  const command = text.replace(/(^|\s)#.*$/, '');
  const problems: Problem[] = [];
  for (const match of command.matchAll(NPM)) {
    const script = match[1] === 'test' || match[1] === 'start' ? match[1] : match[2];
    if (script === undefined) continue;
    if (!tables.scripts.has(script)) {
      problems.push({ line, message: `npm run ${script}: package.json has no script ${script}` });
      continue;
    }
    if (script !== 'demo' && script !== 'oiafed') continue;
    const rest = command.slice(match.index + match[0].length);
    const args = /^\s+--(\s|$)/.test(rest) ? untilNextCommand(rest.replace(/^\s+--/, '')) : '';
    problems.push(...checkArgs(script, args, line, tables[script]));
  }
  const direct = /(?:^|\bnpx\s+)oiafed\s+(.*)$/.exec(command);
  if (direct) problems.push(...checkArgs('oiafed', untilNextCommand(direct[1]!), line, tables.oiafed));
  return problems;
}

/** Arguments up to the end of this command (`&&`, `;`, `|`, a closing parenthesis). */
const untilNextCommand = (text: string) => text.split(/&&|;|\|\||\||\)/)[0]!;

function flagsIn(text: string): string[] {
  return [...text.matchAll(FLAG)].map((m) => m[1]!);
}

function checkArgs(program: 'demo' | 'oiafed', args: string, line: number, table: CommandLine): Problem[] {
  const problems: Problem[] = [];
  for (const flag of flagsIn(args)) {
    if (!table.flags.has(flag))
      problems.push({ line, message: `${describe(program)} has no flag --${flag}` });
  }
  const subcommand = /^\s*([a-z][\w-]*)/.exec(args)?.[1];
  if (table.subcommands && subcommand !== undefined && !table.subcommands.has(subcommand))
    problems.push({ line, message: `${describe(program)} has no command ${subcommand}` });
  return problems;
}
