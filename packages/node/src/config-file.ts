import { readFile } from 'node:fs/promises';
import { OiafedError, resolveConfig, type RunConfig } from '@oiafed/core';
import { parse } from 'yaml';

/** Reads a YAML run config (the same shape as the typed object) and checks every field. */
export async function loadConfig(path: string): Promise<RunConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new OiafedError('INVALID_CONFIG', `cannot read config ${path}: ${(error as Error).message}`);
  }
  return parseConfig(text, path);
}

export function parseConfig(yaml: string, source = 'config'): RunConfig {
  let value: unknown;
  try {
    value = parse(yaml);
  } catch (error) {
    throw new OiafedError('INVALID_CONFIG', `${source} is not valid YAML: ${(error as Error).message}`);
  }
  try {
    return resolveConfig(value ?? {});
  } catch (error) {
    throw new OiafedError('INVALID_CONFIG', `${source}: ${(error as Error).message}`);
  }
}
