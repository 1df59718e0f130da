/**
 * Serves the viewer (web/viewer) and the browser libraries it runs (xterm.js, noVNC as ES
 * modules) from appstreamd itself — no CDN. Only files under the three roots are served;
 * paths are resolved and checked to stay inside their root.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../errors/api-error.js';

const require = createRequire(import.meta.url);

function packageRoot(entry: string, marker: string): string {
  let dir = path.dirname(require.resolve(entry));
  while (!existsSync(path.join(dir, marker)) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

function findWebRoot(): string {
  // src/api/viewer → repo root (tsx) or dist/api/viewer → repo root (built).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'web', 'viewer')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'web', 'viewer');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

export const VIEWER_ROOT = findWebRoot();

let cachedViewer: string | undefined;
/** The page served on GET of an entitlement URL from a browser. */
export function viewerHtml(): string {
  cachedViewer ??= readFileSync(path.join(VIEWER_ROOT, 'index.html'), 'utf8');
  return cachedViewer;
}

export function installViewerAssets(app: FastifyInstance): void {
  const roots: Record<string, string> = {
    '/viewer/': VIEWER_ROOT,
    '/vendor/xterm/': packageRoot('@xterm/xterm', 'package.json'),
    '/vendor/novnc/': packageRoot('@novnc/novnc', 'package.json'),
  };
  for (const [prefix, root] of Object.entries(roots)) {
    app.get(`${prefix}*`, async (request, reply) => {
      let rel: string;
      try {
        rel = decodeURIComponent((request.params as { '*': string })['*'] ?? '');
      } catch {
        throw new ApiError('ResourceNotFoundException', 'No such viewer file.');
      }
      const file = path.resolve(root, rel);
      const ext = path.extname(file);
      if (!file.startsWith(root + path.sep) || !(ext in CONTENT_TYPES) || !existsSync(file) || !statSync(file).isFile()) {
        throw new ApiError('ResourceNotFoundException', 'No such viewer file.');
      }
      void reply.header('Cache-Control', 'no-cache').type(CONTENT_TYPES[ext]!);
      return reply.send(readFileSync(file));
    });
  }
}
