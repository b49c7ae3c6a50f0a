import { OiafedError } from './wire/errors.js';
import type { IceServer } from './links/peer.js';
import { isNodeId } from './wire/node-id.js';

/*
 * The checks of one field of a run config as a user wrote it: each returns the value as its type,
 * or fails with INVALID_CONFIG naming the field, what it must be, and what it was.
 */

export function fail(field: string, expected: string, got: unknown): never {
  throw new OiafedError('INVALID_CONFIG', `${field} must be ${expected} (got ${JSON.stringify(got)})`);
}

export function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'an object', v);
  return v as Record<string, unknown>;
}

export function unknownKeys(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !known.includes(k));
  if (extra.length)
    throw new OiafedError(
      'INVALID_CONFIG',
      `${where}.${extra[0]} is not a known setting (known: ${known.join(', ')})`,
    );
}

export function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') fail(field, 'a non-empty string', v);
  return v;
}

export function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, 'a number', v);
  return v;
}

export function positive(v: unknown, field: string): number {
  if (!(num(v, field) > 0)) fail(field, 'a number > 0', v);
  return v as number;
}

export function nonNegative(v: unknown, field: string): number {
  if (!(num(v, field) >= 0)) fail(field, 'a number >= 0', v);
  return v as number;
}

export function integer(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
    fail(field, `an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`, v);
  return v as number;
}

export function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, 'true or false', v);
  return v;
}

export function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail(field, 'a list', v);
  return v as unknown[];
}

export function oneOf<T extends string>(v: unknown, options: readonly T[], field: string): T {
  if (!options.includes(v as T)) fail(field, `one of ${options.join(', ')}`, v);
  return v as T;
}

export function credentials(v: unknown, field: string): Record<string, string> {
  const map = record(v, field);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [id, secret] of Object.entries(map)) {
    if (!isNodeId(id)) fail(`${field} key`, 'a node id', id);
    out[id] = str(secret, `${field}.${id}`);
  }
  return out;
}

export function iceServer(v: unknown, field: string): IceServer {
  const server = record(v, field);
  unknownKeys(server, ['urls', 'username', 'credential'], field);
  const urls = Array.isArray(server.urls)
    ? server.urls.map((u, i) => str(u, `${field}.urls[${i}]`))
    : str(server.urls, `${field}.urls`);
  return {
    urls,
    ...(server.username === undefined ? {} : { username: str(server.username, `${field}.username`) }),
    ...(server.credential === undefined ? {} : { credential: str(server.credential, `${field}.credential`) }),
  };
}
