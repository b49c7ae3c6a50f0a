import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OiafedError, type Checkpoint, type CheckpointStore } from '@oiafed/core';
import { Codec } from '@oiafed/core/internal';

/**
 * Keeps the latest checkpoint in one file, msgpack-encoded (the weights stay Float32Arrays).
 * Each save writes a temporary file and renames it over the old one, so a crash mid-save leaves
 * the previous checkpoint intact.
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly path: string;
  readonly #codec = new Codec();

  constructor(path: string) {
    this.path = path;
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(
      temporary,
      this.#codec.encodeValue({ format: 'oiafed-checkpoint', version: 1, ...checkpoint }),
    );
    await rename(temporary, this.path);
  }

  async load(): Promise<Checkpoint | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const value = this.#codec.decodeValue(bytes) as
      (Partial<Checkpoint> & { format?: string }) | null | undefined;
    if (
      value?.format !== 'oiafed-checkpoint' ||
      !Number.isInteger(value.round) ||
      typeof value.weights !== 'object' ||
      !Array.isArray(value.history)
    ) {
      throw new OiafedError('BAD_FRAME', `${this.path} is not an oiafed checkpoint`);
    }
    return { round: value.round!, weights: value.weights, history: value.history };
  }
}
