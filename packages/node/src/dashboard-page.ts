import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { OiafedError } from '@oiafed/core';

/** Where the page is served on a trainer's port. */
export const DASHBOARD_PATH = '/dashboard/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The page connects back to a WebSocket server (its own by default) and styles itself from
 * script (uPlot sets style attributes); it is never framed, so its buttons cannot be clicked
 * through another site.
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** The dashboard page as an HTTP handler: the built files of @oiafed/dashboard, held in memory. */
export interface DashboardPage {
  /** Answers GET and HEAD under DASHBOARD_PATH (and sends `/` there); anything else is 404 or 405. */
  readonly handler: RequestListener;
  /** Files served, by path. */
  readonly files: ReadonlyMap<string, { type: string; body: Buffer }>;
}

/**
 * Reads the dashboard page that `@oiafed/dashboard` ships built (dist/web) into memory, once: a
 * request is answered from that map, never from a path it names, so no request reaches another file.
 */
export async function dashboardPage(): Promise<DashboardPage> {
  let index: string;
  try {
    index = createRequire(import.meta.url).resolve('@oiafed/dashboard/web/index.html');
  } catch (cause) {
    throw new OiafedError(
      'INVALID_CONFIG',
      'the dashboard page is not built (or @oiafed/dashboard is not installed): run `pnpm --filter @oiafed/dashboard run build`',
      { cause },
    );
  }
  const root = dirname(index);
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const url = DASHBOARD_PATH + relative(root, path).split(sep).join('/');
    files.set(url, { type: TYPES[extname(path)] ?? 'application/octet-stream', body: await readFile(path) });
  }
  files.set(DASHBOARD_PATH, files.get(`${DASHBOARD_PATH}index.html`)!);
  return { handler: (req, res) => answer(files, req, res), files };
}

function answer(
  files: ReadonlyMap<string, { type: string; body: Buffer }>,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const path = (req.url ?? '/').split(/[?#]/, 1)[0]!;
  if (path === '/' || path === DASHBOARD_PATH.slice(0, -1)) {
    res.writeHead(302, { Location: DASHBOARD_PATH, 'Content-Length': 0 }).end();
    return;
  }
  const file = files.get(path);
  if (!file) {
    plain(res, 404, 'not found');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    plain(res, 405, 'method not allowed');
    return;
  }
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': file.type,
    'Content-Length': file.body.byteLength,
    // Assets are named by their content; the page itself must be read again after an upgrade.
    'Cache-Control': path.startsWith(`${DASHBOARD_PATH}assets/`)
      ? 'public, max-age=31536000, immutable'
      : 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) })
    .end(text);
}
