/**
 * A server under load, in its own process so that autocannon (in the parent) does not
 * share its event loop. `appstreamd`: the real createApp with SQLite in a temp folder,
 * log level warn; prints {url, credentials}. `bare`: node:http answering the body given in
 * BENCH_ROOT_BODY with the same headers; prints {url}. Both stop on SIGTERM or stdin end.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stopWhenParentAsks } from './support.js';

async function startAppstreamd(): Promise<() => Promise<void>> {
  // Imported here so the bare baseline process does not load (or pay for) the app.
  const { loadSettings } = await import('../src/config/settings.js');
  const { createApp } = await import('../src/http/app.js');
  const { createLogger } = await import('../src/http/logger.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-bench-'));
  const settings = loadSettings({ APPSTREAMD_PORT: '0', APPSTREAMD_DATA_DIR: dataDir, APPSTREAMD_LOG_LEVEL: 'warn' });
  const app = await createApp({ settings, logger: createLogger('warn', process.stderr) });
  const url = await app.listen();
  const credentials = await app.accounts.createAccountWithKey('bench');
  process.stdout.write(JSON.stringify({ url, credentials }) + '\n');
  return async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

async function startBare(): Promise<() => Promise<void>> {
  const body = Buffer.from(process.env['BENCH_ROOT_BODY'] ?? '{}');
  const server = http.createServer((_req, res) => {
    res.writeHead(200, {
      'x-amzn-RequestId': randomUUID(),
      'content-type': 'application/hal+json; charset=utf-8',
      'content-length': String(body.length),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The framework's own ceiling: plain fastify answering the same body, no auth, no hooks. */
async function startFastify(): Promise<() => Promise<void>> {
  const { default: Fastify } = await import('fastify');
  const body = process.env['BENCH_ROOT_BODY'] ?? '{}';
  const app = Fastify({ logger: false });
  app.get('/', async (_req, reply) => {
    void reply.header('x-amzn-RequestId', randomUUID()).type('application/hal+json; charset=utf-8');
    return body;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}` }) + '\n');
  return () => app.close();
}

const mode = process.argv[2];
const stop =
  mode === 'appstreamd' ? await startAppstreamd() : mode === 'bare' ? await startBare() : mode === 'fastify' ? await startFastify() : undefined;
if (!stop) {
  process.stderr.write('usage: target-server.ts appstreamd|bare|fastify\n');
  process.exit(2);
}
stopWhenParentAsks(stop);
