import { describe, expect, it } from 'vitest';
import { Codec } from './codec.js';
import type { Envelope } from './envelope.js';
import { frameProblem } from './frame-checks.js';
import { OiafedError } from './errors.js';
import {
  MAX_CAPABILITIES,
  MAX_CAPABILITY_LENGTH,
  MAX_ERROR_CODE_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_ERROR_STACK_LENGTH,
  MAX_NAME_LENGTH,
  MAX_NODE_ID_LENGTH,
  MAX_REASON_LENGTH,
  MAX_RESUME_LENGTH,
  MAX_ROLE_LENGTH,
  MAX_TOKEN_LENGTH,
} from './frame-limits.js';

/** An object whose toString is not callable: interpolating it throws (`${value}`). */
const uncallable = { toString: 1, valueOf: 1 };
const long = (n: number) => 'x'.repeat(n);
const nested = (depth: number) => {
  let error: Record<string, unknown> = { name: 'E', message: 'bottom' };
  for (let i = 0; i < depth; i++) error = { name: 'E', message: `level ${i}`, cause: error };
  return error;
};

/**
 * An error frame (shared layout 8) whose error has `depth` causes, as records: a layout defined
 * once in the message and then named by its one-byte id at every level, as any msgpackr encoder writes it.
 */
function deepErrorFrame(depth: number): Uint8Array {
  const text = (s: string) => [0xa0 | s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  const bytes = [0x48, ...text('error'), 0, ...text('a'), ...text('b')];
  bytes.push(
    0xd4,
    0x72,
    0x4b,
    0x93,
    ...text('name'),
    ...text('message'),
    ...text('cause'),
    ...text('E'),
    ...text('m'),
  );
  for (let i = 1; i < depth; i++) bytes.push(0x4b, ...text('E'), ...text('m'));
  bytes.push(0xd4, 0x72, 0x4c, 0x92, ...text('name'), ...text('message'), ...text('E'), ...text('bottom'));
  return Uint8Array.from(bytes);
}

const valid: Record<Envelope['kind'], Record<string, unknown>> = {
  call: { kind: 'call', id: 1, src: 'a', dst: 'b', method: 'train', args: [1], meta: { token: 't' } },
  result: { kind: 'result', id: 2, src: 'a', dst: 'b', value: { any: 'thing' }, meta: {} },
  error: {
    kind: 'error',
    id: 0,
    src: 'a',
    dst: 'b',
    error: { name: 'E', message: 'm', code: 'C', stack: 's', protocol: true, cause: nested(3) },
    event: 'progress',
  },
  cancel: { kind: 'cancel', id: 3, src: 'a', dst: 'b', reason: 'timed out' },
  event: { kind: 'event', id: 0, src: 'a', dst: '*', name: 'progress', payload: 0.5, meta: {} },
  ack: { kind: 'ack', id: 2 ** 31 - 1, src: 'a', dst: 'b' },
  hello: {
    kind: 'hello',
    version: 2,
    src: 'learner-1',
    role: 'learner',
    token: 't',
    resume: 'r',
    capabilities: ['train'],
    metadata: { gpu: false },
  },
  welcome: { kind: 'welcome', version: 2, src: 'hub', dst: 'learner-1', role: 'trainer', resume: 'r' },
  bye: { kind: 'bye', src: 'learner-1', reason: 'done' },
  ping: { kind: 'ping', t: 12.5 },
  pong: { kind: 'pong', t: 0 },
  limits: { kind: 'limits', maxMessage: 100 * 1024 * 1024 },
  chunk: { kind: 'chunk', id: 1, index: 0, count: 2, data: new Uint8Array(3) },
  attached: {
    kind: 'attached',
    frame: { kind: 'event', id: 0, name: 'model', payload: null },
    sizes: [8, 0],
    types: ['Float32Array', 'Uint8Array'],
  },
};

/** [kind, field, what the field holds, the value]: each must make the frame BAD_FRAME, naming the field. */
/** `frame` with `field` set to `value`, or left out when `value` is undefined. */
function withField(frame: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const { [field]: _replaced, ...rest } = frame;
  return value === undefined ? rest : { ...frame, [field]: value };
}

const hostile: [Envelope['kind'], string, string, unknown][] = [
  ['call', 'id', 'a fraction', 1.5],
  ['call', 'id', 'negative', -1],
  ['call', 'id', '2^31', 2 ** 31],
  ['call', 'id', 'NaN', NaN],
  ['call', 'id', 'a string', '1'],
  ['call', 'method', 'an object with a non-callable toString', uncallable],
  ['call', 'method', `longer than ${MAX_NAME_LENGTH} characters`, long(MAX_NAME_LENGTH + 1)],
  ['call', 'args', 'an object', { 0: 1 }],
  ['call', 'meta', 'an array', []],
  ['call', 'meta', 'null', null],
  ['call', 'meta', 'a Map', new Map()],
  ['call', 'src', 'an object', uncallable],
  ['call', 'src', `longer than ${MAX_NODE_ID_LENGTH} characters`, long(MAX_NODE_ID_LENGTH + 1)],
  ['call', 'src', 'every node', '*'],
  ['call', 'dst', 'a number', 7],
  ['result', 'id', 'Infinity', Infinity],
  ['result', 'meta', 'a string', 'zip'],
  ['error', 'event', 'an object with a non-callable toString', uncallable],
  ['error', 'event', `longer than ${MAX_NAME_LENGTH} characters`, long(MAX_NAME_LENGTH + 1)],
  ['error', 'error', 'a string', 'boom'],
  ['error', 'error', 'an array', []],
  ['error', 'error', 'without a name', { message: 'm' }],
  [
    'error',
    'error',
    `with a message longer than ${MAX_ERROR_MESSAGE_LENGTH}`,
    { name: 'E', message: long(MAX_ERROR_MESSAGE_LENGTH + 1) },
  ],
  [
    'error',
    'error',
    `with a code longer than ${MAX_ERROR_CODE_LENGTH}`,
    { name: 'E', message: 'm', code: long(MAX_ERROR_CODE_LENGTH + 1) },
  ],
  [
    'error',
    'error',
    `with a stack longer than ${MAX_ERROR_STACK_LENGTH}`,
    { name: 'E', message: 'm', stack: long(MAX_ERROR_STACK_LENGTH + 1) },
  ],
  ['error', 'error', 'with a protocol flag that is no boolean', { name: 'E', message: 'm', protocol: 'yes' }],
  [
    'error',
    'error',
    'whose cause has a non-callable toString as its message',
    { name: 'E', message: 'm', cause: { name: 'E', message: uncallable } },
  ],
  ['error', 'error', 'with causes nested 5 deep', nested(5)],
  ['error', 'error', 'with causes nested 3,000 deep', nested(3000)],
  ['cancel', 'reason', 'an object with a non-callable toString', uncallable],
  ['cancel', 'reason', `longer than ${MAX_REASON_LENGTH} characters`, long(MAX_REASON_LENGTH + 1)],
  ['event', 'name', 'a number', 3],
  ['event', 'name', `longer than ${MAX_NAME_LENGTH} characters`, long(MAX_NAME_LENGTH + 1)],
  ['event', 'meta', 'an array', [1]],
  ['ack', 'id', 'missing', undefined],
  ['hello', 'version', 'a string', '2'],
  ['hello', 'src', 'empty', ''],
  ['hello', 'src', `longer than ${MAX_NODE_ID_LENGTH} characters`, long(MAX_NODE_ID_LENGTH + 1)],
  ['hello', 'role', `longer than ${MAX_ROLE_LENGTH} characters`, long(MAX_ROLE_LENGTH + 1)],
  ['hello', 'token', `longer than ${MAX_TOKEN_LENGTH} characters`, long(MAX_TOKEN_LENGTH + 1)],
  ['hello', 'token', 'an object', uncallable],
  ['hello', 'resume', `longer than ${MAX_RESUME_LENGTH} characters`, long(MAX_RESUME_LENGTH + 1)],
  [
    'hello',
    'capabilities',
    `${MAX_CAPABILITIES + 1} strings`,
    Array.from({ length: MAX_CAPABILITIES + 1 }, () => 'c'),
  ],
  [
    'hello',
    'capabilities',
    `a string longer than ${MAX_CAPABILITY_LENGTH}`,
    [long(MAX_CAPABILITY_LENGTH + 1)],
  ],
  ['hello', 'capabilities', 'an object among strings', ['train', uncallable]],
  ['hello', 'metadata', 'an array', []],
  ['hello', 'metadata', 'null', null],
  ['welcome', 'dst', 'an object', uncallable],
  ['welcome', 'resume', 'a number', 5],
  ['bye', 'reason', 'an object with a non-callable toString', uncallable],
  ['bye', 'reason', `longer than ${MAX_REASON_LENGTH} characters`, long(MAX_REASON_LENGTH + 1)],
  ['bye', 'src', 'missing', undefined],
  ['ping', 't', 'NaN', NaN],
  ['pong', 't', 'Infinity', -Infinity],
  ['limits', 'maxMessage', 'zero', 0],
  ['limits', 'maxMessage', 'a fraction', 1.5],
  ['chunk', 'id', 'negative', -1],
  ['chunk', 'index', 'a fraction', 0.5],
  ['chunk', 'count', 'NaN', NaN],
  ['chunk', 'data', 'an array of numbers', [1, 2, 3]],
  [
    'attached',
    'types',
    "'constructor' (which reaches Object through a plain lookup)",
    ['constructor', 'Uint8Array'],
  ],
  ['attached', 'types', "'__proto__'", ['__proto__', 'Uint8Array']],
  ['attached', 'types', 'not a list', 'Float32Array'],
  ['attached', 'sizes', 'of a negative size', [-8, 0]],
  ['attached', 'sizes', 'of a size that is no whole number of elements', [6, 0]],
  ['attached', 'sizes', 'one shorter than types', [8]],
  ['attached', 'frame', 'an attached frame', { kind: 'attached', frame: null, sizes: [], types: [] }],
  [
    'attached',
    'frame',
    'a call with a method that is an object',
    { kind: 'call', id: 1, method: uncallable, args: [] },
  ],
];

const shows = (problem: string | undefined, kind: string, field: string) => {
  expect(problem).toBeDefined();
  expect(problem!.startsWith(`malformed ${kind} frame: `)).toBe(true);
  expect(problem!.slice(`malformed ${kind} frame: `.length)).toContain(field);
  // Never the peer's value: a message stays short whatever it sent.
  expect(problem!.length).toBeLessThan(200);
};

describe('frame fields', () => {
  for (const [kind, frame] of Object.entries(valid)) {
    it(`takes a ${kind} frame whose every field is within its limits`, () => {
      expect(frameProblem(frame)).toBeUndefined();
    });
  }

  for (const [kind, field, what, value] of hostile) {
    it(`refuses a ${kind} frame whose ${field} is ${what}, naming the field`, () => {
      const frame = withField(valid[kind], field, value);
      shows(frameProblem(frame), kind, field);
    });
  }

  it('refuses the same frames through the codec as BAD_FRAME, never another exception', () => {
    const codec = new Codec();
    for (const [kind, field, what, value] of hostile) {
      if (value instanceof Map || field === 'data') continue; // msgpackr writes these as other types
      const frame = withField(valid[kind], field, value);
      // msgpackr itself cannot write 3,000 levels (its encoder recurses): such bytes are written by hand.
      const bytes = what.includes('3,000')
        ? deepErrorFrame(3000)
        : codec.encode(frame as unknown as Envelope);
      let caught: unknown;
      try {
        codec.decode(bytes);
      } catch (error) {
        caught = error;
      }
      expect(caught, `${kind}.${field}`).toBeInstanceOf(OiafedError);
      expect((caught as OiafedError).code, `${kind}.${field} ${what}`).toBe('BAD_FRAME');
      expect((caught as OiafedError).message.length).toBeLessThan(200);
    }
  });

  it('names an unknown kind with a short, escaped quote of it, never its own toString', () => {
    expect(frameProblem({ kind: 'exec\n' })).toBe('unknown frame kind "exec\\n"');
    expect(frameProblem({ kind: long(1_000_000) })!.length).toBeLessThan(100);
    expect(frameProblem({ kind: uncallable })).toBe('unknown frame kind [object]');
    expect(frameProblem({ kind: 'constructor' })).toBe('unknown frame kind "constructor"');
    expect(frameProblem({ kind: '__proto__' })).toBe('unknown frame kind "__proto__"');
    expect(frameProblem([1, 2])).toBe('frame is not an object');
  });

  it('reads the hand-written deep error frame as the chain it is, and refuses it only for its depth', () => {
    const codec = new Codec();
    const shallow = codec.decode(deepErrorFrame(4));
    expect(shallow).toMatchObject({
      kind: 'error',
      src: 'a',
      dst: 'b',
      error: { name: 'E', message: 'm', cause: { cause: { cause: { cause: { message: 'bottom' } } } } },
    });
    expect(() => codec.decode(deepErrorFrame(5))).toThrow(/error has causes nested deeper than 4/);
  });

  it('takes an answer to a peer that has not said who it is (dst empty), and broadcasts (dst every node)', () => {
    expect(frameProblem({ ...valid.error, dst: '' })).toBeUndefined();
    expect(frameProblem({ ...valid.event, dst: '*' })).toBeUndefined();
  });
});
