import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

/** Bytes and count of one kind of heap object (V8 snapshot node name, by type). */
export interface HeapKind {
  name: string;
  count: number;
  bytes: number;
}

/**
 * Self sizes in the JS heap grouped by constructor (or type for strings, arrays, code...), from a
 * V8 heap snapshot: what a structure of ours costs, and how many of them there are.
 */
export function heapByKind(): Map<string, HeapKind> {
  const file = writeHeapSnapshot(join(tmpdir(), `oiafed-heap-${process.pid}-${Date.now()}.heapsnapshot`));
  try {
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
      strings: string[];
    };
    const fields = snapshot.snapshot.meta.node_fields;
    const types = snapshot.snapshot.meta.node_types[0];
    const width = fields.length;
    const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
      number,
      number,
      number,
    ];
    const kinds = new Map<string, HeapKind>();
    const { nodes, strings } = snapshot;
    for (let i = 0; i < nodes.length; i += width) {
      const type = types[nodes[i + typeAt]!]!;
      const raw =
        type === 'object' || type === 'closure' || type === 'native'
          ? strings[nodes[i + nameAt]!]!
          : `(${type})`;
      const name = `${type === 'closure' ? 'closure ' : ''}${raw.slice(0, 60)}`;
      const kind = kinds.get(name) ?? { name, count: 0, bytes: 0 };
      kind.count += 1;
      kind.bytes += nodes[i + sizeAt]!;
      kinds.set(name, kind);
    }
    return kinds;
  } finally {
    rmSync(file, { force: true });
  }
}

/** What grew between two breakdowns, per client, largest first. */
export function grownPerClient(
  before: Map<string, HeapKind>,
  after: Map<string, HeapKind>,
  clients: number,
  top = 25,
): { name: string; perClient: number; bytesPerClient: number }[] {
  return [...after.values()]
    .map((k) => {
      const b = before.get(k.name);
      return {
        name: k.name,
        perClient: (k.count - (b?.count ?? 0)) / clients,
        bytesPerClient: (k.bytes - (b?.bytes ?? 0)) / clients,
      };
    })
    .sort((a, b) => b.bytesPerClient - a.bytesPerClient)
    .slice(0, top);
}
