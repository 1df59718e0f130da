/**
 * Shared pieces of the scale-out tests: several appstreamd instances on one PostgreSQL
 * database, one Redis and one data folder. Every test gets its own database (dropped after)
 * and its own accounts, since Redis is shared by every test run on the machine.
 *
 * When PostgreSQL or Redis is not reachable the suites skip with a message, unless CI is set:
 * then the `before` hook fails them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startServer, type TestServer } from '../helpers/server.js';
import { servePackage } from '../helpers/streaming.js';
import { createDatabase, dropDatabase } from '../helpers/test-store.js';

export const REDIS_URL = process.env['APPSTREAMD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PG_ADMIN_URL = process.env['APPSTREAMD_TEST_PG_ADMIN_URL'] ?? 'postgres://root@127.0.0.1:5432/test';
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function postgresProblem(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function redisProblem(): Promise<string | null> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (err) {
    return `Redis is not reachable at ${REDIS_URL} (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    redis.disconnect();
  }
}

/** Why the scale-out backends cannot be used, or null when both answer. */
export const backendProblem: string | null = await (async () => {
  const problems = (await Promise.all([postgresProblem(), redisProblem()])).filter((p): p is string => p !== null);
  return problems.length > 0 ? problems.join('; ') : null;
})();

/** `test(name, { skip }, ...)`: a message when the backends are missing and CI is not set. */
export const skipUnlessBackends: string | false =
  backendProblem && !process.env['CI'] ? `scale-out tests need PostgreSQL and Redis: ${backendProblem} (set CI to make this a failure)` : false;

/** Call from `before`: with CI set, missing backends fail the suite instead of skipping it. */
export function requireBackends(): void {
  if (backendProblem && !skipUnlessBackends) throw new Error(`CI is set, so scale-out tests must run, but ${backendProblem}`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 25 ms until true; fails with `what()` after `ms`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await sleep(25);
  }
}

/** Pids (not zombies) whose environment holds APPSTREAM_SESSION_ID=<id> for one of the ids. */
export function pidsOfSessions(sessionIds: readonly string[]): number[] {
  const needles = new Set(sessionIds.map((id) => `APPSTREAM_SESSION_ID=${id}`));
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.charAt(stat.lastIndexOf(')') + 2);
      if (state === 'Z' || state === 'X') continue;
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (environ.some((e) => needles.has(e))) found.push(Number(name));
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return found;
}

/** The settings every scale-out instance shares besides the store URLs. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
  APPSTREAMD_LOG_LEVEL: 'warn',
};

/** Instances sharing one data folder and one fresh database. */
export interface Cluster {
  dataDir: string;
  databaseUrl: string;
  servers: TestServer[];
  /** Starts one more in-process instance on the shared state. */
  add(env?: Record<string, string>): Promise<TestServer>;
  /** Stops every instance still running, then drops the database and the data folder. */
  stop(): Promise<void>;
}

export async function startCluster(count: number, options: { redis?: boolean; env?: Record<string, string> } = {}): Promise<Cluster> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-scale-'));
  const databaseUrl = await createDatabase();
  const env: Record<string, string> = {
    ...BASE_ENV,
    APPSTREAMD_DATABASE_URL: databaseUrl,
    ...(options.redis === false ? {} : { APPSTREAMD_REDIS_URL: REDIS_URL }),
    ...options.env,
  };
  const servers: TestServer[] = [];
  const stopped = new Set<TestServer>();
  const cluster: Cluster = {
    dataDir,
    databaseUrl,
    servers,
    async add(extra = {}) {
      const server = await startServer({ ...env, ...extra }, { dataDir });
      servers.push(server);
      return server;
    },
    async stop() {
      try {
        for (const s of servers) {
          if (stopped.has(s)) continue;
          stopped.add(s);
          await s.stop({ keepData: true });
        }
      } finally {
        await dropDatabase(databaseUrl);
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
  try {
    // One after the other: each start also creates an account (startServer's credentials).
    for (let i = 0; i < count; i++) await cluster.add();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** appstreamd as its own process (`appstreamd serve`), for tests that kill -9 it. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Everything it wrote to stderr and stdout so far. */
  output(): string;
  exited: Promise<number | null>;
}

export async function spawnServe(env: Record<string, string>, timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'serve'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? os.tmpdir(), APPSTREAMD_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`appstreamd serve did not print its listening line within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      out += line + '\n';
      const m = /^appstreamd listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`appstreamd serve exited (${code}) before listening:\n${out}`));
    });
  });
  return { child, url, output: () => out, exited };
}

/** A loopback package server offering bin/run.sh = `script`; close() also removes the work folder. */
export async function scriptPackage(script: string): Promise<{ url: string; close(): Promise<void> }> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-scale-pkg-'));
  const pkg = await servePackage(work, [{ path: 'bin/run.sh', content: script, mode: 0o755 }]);
  return {
    url: pkg.url,
    async close() {
      await pkg.server.close().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The same path on another instance: entitlement URLs name the instance that entitled. */
export function onInstance(url: string, instanceBase: string): string {
  const u = new URL(url);
  const base = new URL(instanceBase);
  u.protocol = base.protocol;
  u.host = base.host;
  return u.toString();
}
