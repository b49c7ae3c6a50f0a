/** What the README checker reads in a Markdown text: fenced code blocks, code spans, headings. */

/** A fenced code block: its language, its code, and where it is. */
export interface CodeBlock {
  /** The info string's first word (`ts`, `yaml`, `sh`...), lower case; '' when none. */
  lang: string;
  code: string;
  /** The line (1-based) of the opening fence; the code starts on the next. */
  line: number;
  /** The reason of a `<!-- readme-check: skip (reason) -->` just before it, if it has one. */
  skip: string | undefined;
}

/** A `code span` outside the blocks, and the line it starts on. */
export interface CodeSpan {
  text: string;
  line: number;
  /** The `## ` or `### ` heading it is under ('' before the first). */
  section: string;
}

/** A skip marker that is not well-formed or skips nothing. */
export interface MarkerProblem {
  line: number;
  message: string;
}

export interface MarkdownParts {
  blocks: CodeBlock[];
  spans: CodeSpan[];
  markerProblems: MarkerProblem[];
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/;
/**
 * A marker is an HTML comment on a line of its own (one quoted in prose, in a code span, is not).
 * Any such comment that names the checker is one for it: a marker with a typo must not pass unseen.
 */
const MARKER = /^\s*<!--\s*readme-check\b(.*?)-->\s*$/;
const SKIP = /^:\s*skip\s*\((.*)\)$/;
const HEADING = /^#{2,3}\s+(.*?)\s*$/;
const SPAN = /`([^`]+)`/g;

/** The blocks, spans and skip markers of `text`, with their lines. */
export function readMarkdown(text: string): MarkdownParts {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  const markerProblems: MarkerProblem[] = [];
  // The text outside blocks, line for line (a block's lines blank), for code spans that may wrap.
  const prose: string[] = [];
  const sectionOf: string[] = [];
  let section = '';
  /** A well-formed skip marker waiting for its block: its line and reason. */
  let pending: { line: number; reason: string } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      const close = new RegExp(`^ {0,3}${fence[1]![0]}{${fence[1]!.length},}\\s*$`);
      let end = i + 1;
      while (end < lines.length && !close.test(lines[end]!)) end++;
      blocks.push({
        lang: fence[2]!.toLowerCase(),
        code: lines.slice(i + 1, end).join('\n'),
        line: i + 1,
        skip: pending?.reason,
      });
      pending = undefined;
      for (let j = i; j <= end && j < lines.length; j++) {
        prose.push('');
        sectionOf.push(section);
      }
      i = end;
      continue;
    }
    prose.push(line);
    const heading = HEADING.exec(line);
    if (heading) section = heading[1]!;
    sectionOf.push(section);
    const marker = MARKER.exec(line);
    if (marker) {
      if (pending)
        markerProblems.push({ line: pending.line, message: 'a skip marker with no code block after it' });
      const skip = SKIP.exec(marker[1]!.trim());
      const reason = skip?.[1]?.trim();
      if (!reason) {
        markerProblems.push({
          line: i + 1,
          message:
            'a skip marker needs its reason: <!-- readme-check: skip (why this block is not checked) -->',
        });
        pending = undefined;
      } else pending = { line: i + 1, reason };
    } else if (pending && line.trim() !== '') {
      markerProblems.push({
        line: pending.line,
        message: 'a skip marker must come just before the code block it skips',
      });
      pending = undefined;
    }
  }
  if (pending)
    markerProblems.push({ line: pending.line, message: 'a skip marker with no code block after it' });
  return { blocks, spans: codeSpans(prose, sectionOf), markerProblems };
}

/** Code spans in the prose; a span may wrap onto the next line, never across a blank one. */
function codeSpans(prose: readonly string[], sectionOf: readonly string[]): CodeSpan[] {
  const text = prose.join('\n');
  const starts: number[] = [];
  for (let i = 0, at = 0; i < prose.length; at += prose[i]!.length + 1, i++) starts.push(at);
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const spans: CodeSpan[] = [];
  for (const match of text.matchAll(SPAN)) {
    if (/\n\s*\n/.test(match[1]!)) continue;
    const index = lineAt(match.index);
    spans.push({ text: match[1]!.replace(/\s+/g, ' ').trim(), line: index + 1, section: sectionOf[index]! });
  }
  return spans;
}
