import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

/** The fields of a packed package.json that these checks read. */
interface Manifest {
  name: string;
  version: string;
  description?: string;
  keywords?: string[];
  license?: string;
  repository?: { url?: string };
  engines?: { node?: string };
  files?: string[];
  bin?: Record<string, string>;
  exports?: Record<string, ExportTarget>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

type ExportTarget = string | { [condition: string]: ExportTarget };

interface SourceMap {
  sources: string[];
  sourceRoot?: string;
  sourcesContent?: (string | null)[];
}

/** What a user's install would get wrong: tests, fixtures and support files have no place in a tarball. */
const TEST_FILE = /\.test\.|\.test-d\.|test-support|fixture/;

/**
 * Everything wrong with the tarballs in `packs` (see tarballProblems), each unpacked in a temporary
 * folder that is removed after. The repository's LICENSE is in `workspace`.
 */
export async function packsProblems(packs: string, workspace: string): Promise<string[]> {
  const unpacked = mkdtempSync(join(tmpdir(), 'oiafed-packs-'));
  try {
    const dirs = await Promise.all(
      readdirSync(packs)
        .filter((file) => file.endsWith('.tgz'))
        .map(async (file) => {
          const dir = join(unpacked, file);
          mkdirSync(dir);
          await promisify(execFile)('tar', ['xzf', join(packs, file), '-C', dir], { timeout: 30_000 });
          return join(dir, 'package');
        }),
    );
    const manifests = dirs.map(
      (dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
    );
    const versions = new Map(manifests.map(({ name, version }) => [name, version]));
    const license = readFileSync(join(workspace, 'LICENSE'), 'utf8');
    return dirs.flatMap((dir) => tarballProblems(dir, license, versions));
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}

/**
 * Everything wrong with one unpacked tarball (its `package/` folder) as a user installs it with
 * plain npm, one line each: an empty list is a package that installs, resolves and debugs outside
 * the workspace. `versions` holds the version of every package packed beside it.
 */
export function tarballProblems(
  packageDir: string,
  license: string,
  versions: ReadonlyMap<string, string>,
): string[] {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as Manifest;
  const files = listFiles(packageDir);
  const shipped = new Set(files);
  const problems: string[] = [];
  const problem = (text: string) => problems.push(`${manifest.name}: ${text}`);

  if (manifest.license !== 'MIT') problem(`license is ${String(manifest.license)}, not MIT`);
  if (!shipped.has('LICENSE') || readFileSync(join(packageDir, 'LICENSE'), 'utf8') !== license)
    problem("LICENSE is missing or differs from the repository's");
  if (manifest.engines?.node !== '>=20') problem(`engines.node is ${String(manifest.engines?.node)}`);
  if (!manifest.repository?.url) problem('no repository url');
  if (!manifest.description) problem('no description');
  if (!manifest.keywords?.length) problem('no keywords');
  if (!manifest.files?.length) problem('no files list');

  const ranges = {
    ...manifest.dependencies,
    ...manifest.optionalDependencies,
    ...manifest.peerDependencies,
  };
  for (const [name, range] of Object.entries(ranges)) {
    if (range.startsWith('workspace:')) problem(`dependency ${name} is ${range}`);
    const sibling = versions.get(name);
    if (sibling !== undefined && range !== sibling)
      problem(`dependency ${name} is ${range}, but the packed one is ${sibling}`);
  }

  if (!manifest.exports) problem('no exports');
  for (const [entry, target] of Object.entries(manifest.exports ?? {})) {
    const conditions = typeof target === 'string' ? {} : target;
    // An asset (the dashboard's HTML page) is served, not imported: only code needs types.
    const code = exportPaths(target).some((path) => /\.[cm]?js$/.test(path));
    if (code && !('types' in conditions)) problem(`export ${entry} has no types`);
    if ('source' in conditions) problem(`export ${entry} keeps the workspace's "source" condition`);
    for (const path of exportPaths(target))
      if (!shipped.has(posix.normalize(path)))
        problem(`export ${entry} points at ${path}, which is not shipped`);
  }
  for (const [name, path] of Object.entries(manifest.bin ?? {}))
    if (!shipped.has(posix.normalize(path))) problem(`bin ${name} points at ${path}, which is not shipped`);

  for (const file of files) {
    if (TEST_FILE.test(file)) problem(`ships ${file}, a test file`);
    if (file.endsWith('.map'))
      problems.push(...mapProblems(packageDir, file, shipped).map((p) => `${manifest.name}: ${p}`));
  }
  return problems;
}

/** A map resolves when each of its sources is a shipped file or is embedded in the map itself. */
function mapProblems(packageDir: string, file: string, shipped: ReadonlySet<string>): string[] {
  const map = JSON.parse(readFileSync(join(packageDir, file), 'utf8')) as SourceMap;
  const base = resolve(packageDir, dirname(file), map.sourceRoot ?? '');
  return map.sources.flatMap((source, i) => {
    if (typeof map.sourcesContent?.[i] === 'string') return [];
    const path = relative(packageDir, resolve(base, source));
    return shipped.has(path) ? [] : [`${file} maps to ${source}, which is neither shipped nor embedded`];
  });
}

function exportPaths(target: ExportTarget): string[] {
  return typeof target === 'string' ? [target] : Object.values(target).flatMap(exportPaths);
}

function listFiles(dir: string, under = ''): string[] {
  const entries = readdirSync(join(dir, under), { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  return entries.flatMap((entry) => {
    const path = under ? `${under}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listFiles(dir, path) : [path];
  });
}
