/** Longest text from a peer that goes into history, checkpoints, events and console lines. */
export const MAX_REPORTED_TEXT = 1024;

/**
 * A peer's text made safe to show and keep: anything that is not a string becomes a description of
 * its type (never its own `toString`, which a peer's object may not have or may make throw), control
 * characters are escaped so a line stays one line and cannot move a terminal's cursor, and the
 * result is cut to `max` characters.
 */
export function boundedText(value: unknown, max = MAX_REPORTED_TEXT): string {
  const text = typeof value === 'string' ? value : describe(value);
  let out = '';
  for (let i = 0; i < text.length && out.length < max; i++) {
    const c = text.charCodeAt(i);
    out += c < 0x20 || (c >= 0x7f && c < 0xa0) || c === 0x2028 || c === 0x2029 ? escape(c) : text.charAt(i);
  }
  return out.length >= max && text.length > 0 && out !== text ? `${out.slice(0, max - 1)}…` : out;
}

function escape(c: number): string {
  switch (c) {
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    default:
      return `\\u${c.toString(16).padStart(4, '0')}`;
  }
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'undefined':
      return 'undefined';
    case 'object':
      return value === null ? 'null' : Array.isArray(value) ? `[array of ${value.length}]` : '[object]';
    default:
      return `[${typeof value}]`;
  }
}
