/**
 * Scale-out figures on this machine: signed `GET /` throughput and entitle (POST on an
 * application's sessions) latency, for one instance on SQLite, one instance on PostgreSQL +
 * Redis, and two instances on PostgreSQL + Redis with the load split evenly across both.
 * Each instance runs in its own process (this file with the argument `target`), autocannon
 * runs here with a pool of requests pre-signed for each instance's host.
 *
 * Skips (no rows, a note on stderr) when PostgreSQL or Redis is not reachable.
 *
 * Run alone: node --import tsx bench/scale-out.ts
 * Or from bench/run.ts: `const rows = await (await import('./scale-out.js')).run();`
 * Env: BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 16, split across instances),
 * BENCH_PG_ADMIN_URL (default postgres://root@127.0.0.1:5432/test), BENCH_REDIS_URL
 * (default redis://127.0.0.1:6379).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import * as tar from 'tar';
import type { BenchRow } from './bench-row.js';
import { positiveInt, stopWhenParentAsks } from './support.js';

const BENCH = 'scale-out';
const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SELF), '..');
const POOL_SIZE = 200;
const PG_ADMIN_URL = process.env['BENCH_PG_ADMIN_URL'] ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What a target process is started with (JSON in SCALE_OUT_TARGET). */
interface TargetConfig {
  dataDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
}

interface Target {
  url: string;
  credentials: Credentials;
  stop(): Promise<void>;
}

interface Measured {
  reqPerSec: number;
  p50: number;
  p99: number;
  bad: number;
}


// ---------------------------------------------------------------- target process

/** Child mode: one appstreamd instance; prints {url, credentials} then runs until SIGTERM or stdin ends. */
async function serveTarget(): Promise<void> {
  const config = JSON.parse(process.env['SCALE_OUT_TARGET'] ?? '{}') as TargetConfig;
  const { loadSettings } = await import('../src/config/settings.js');
  const { createApp } = await import('../src/http/app.js');
  const { createLogger } = await import('../src/http/logger.js');
  const settings = loadSettings({
    APPSTREAMD_PORT: '0',
    APPSTREAMD_DATA_DIR: config.dataDir,
    APPSTREAMD_DATABASE_URL: config.databaseUrl ?? '',
    APPSTREAMD_REDIS_URL: config.redisUrl ?? '',
    APPSTREAMD_LOG_LEVEL: 'warn',
    APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
    APPSTREAMD_CREATE_APPLICATION_RATE: '1000000',
    APPSTREAMD_ENTITLE_SESSION_RATE: '1000000',
    APPSTREAMD_SESSION_CAPACITY: '100000',
  });
  const app = await createApp({ settings, logger: createLogger('warn', process.stderr) });
  const url = await app.listen();
  const credentials = await app.accounts.createAccountWithKey('bench');
  process.stdout.write(JSON.stringify({ url, credentials }) + '\n');
  stopWhenParentAsks(() => app.close(), 10_000);
}

async function startTarget(config: TargetConfig): Promise<Target> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SELF, 'target'], {
    cwd: REPO_ROOT,
    env: { ...process.env, SCALE_OUT_TARGET: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('close', (code) => reject(new Error(`bench target exited (${code}) before it was ready`)));
  });
  const info = JSON.parse(line) as { url: string; credentials: Credentials };
  return {
    ...info,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------- backends

async function backendProblem(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch (err) {
    return `PostgreSQL is not reachable at ${PG_ADMIN_URL} (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    return `Redis is not reachable at ${REDIS_URL} (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    redis.disconnect();
  }
  return null;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A fresh database for one configuration; returns its URL and how to drop it. */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `appstreamd_bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => adminQuery(`drop database if exists ${name} with (force)`) };
}

// ---------------------------------------------------------------- requests

async function signedHeaders(baseUrl: string, credentials: Credentials, method: string, pathAndQuery: string, body: string | undefined, date: Date): Promise<Record<string, string>> {
  const { host, hostname, port } = new URL(baseUrl);
  const headers: Record<string, string> = { host, accept: 'application/hal+json' };
  if (body !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(body));
    if (body.length > 0) headers['content-type'] = 'application/json';
  }
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'appstream', sha256: Sha256 });
  const request = new HttpRequest({ method, protocol: 'http:', hostname, port: Number(port), path: pathAndQuery, headers, body });
  return (await signer.sign(request, { signingDate: date })).headers as Record<string, string>;
}

/** POOL_SIZE requests signed one second apart (all well inside the 15-minute skew). */
async function signPool(baseUrl: string, credentials: Credentials, method: string, pathAndQuery: string, body?: string): Promise<autocannon.Request[]> {
  const now = Date.now();
  const pool: autocannon.Request[] = [];
  for (let i = 0; i < POOL_SIZE; i++) {
    const headers = await signedHeaders(baseUrl, credentials, method, pathAndQuery, body, new Date(now - i * 1000));
    pool.push({ method: method as autocannon.Request['method'], path: pathAndQuery, headers, ...(body !== undefined ? { body } : {}) });
  }
  return pool;
}

async function call(baseUrl: string, credentials: Credentials, method: string, pathAndQuery: string, body?: string): Promise<{ status: number; json: any }> {
  const headers = await signedHeaders(baseUrl, credentials, method, pathAndQuery, body, new Date());
  delete headers['host'];
  const res = await fetch(`${baseUrl}${pathAndQuery}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A loopback package server with a one-script terminal application. */
async function packageServer(): Promise<{ url: string; close(): Promise<void> }> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-bench-pkg-'));
  mkdirSync(path.join(work, 'src', 'bin'), { recursive: true });
  writeFileSync(path.join(work, 'src', 'bin', 'run.sh'), '#!/bin/sh\nexec cat\n', { mode: 0o755 });
  const archive = path.join(work, 'pkg.tar.gz');
  await tar.c({ gzip: true, cwd: path.join(work, 'src'), file: archive, portable: true }, ['.']);
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(archive);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/pkg.tar.gz`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(work, { recursive: true, force: true });
      }),
  };
}

/** Creates an application through the first instance and waits until it is Active; returns its id. */
async function activeApplication(target: Target, installerUrl: string): Promise<string> {
  const created = await call(target.url, target.credentials, 'POST', '/applications', JSON.stringify({ name: 'bench', installerUrl, installerParameters: '', launchPath: 'bin/run.sh' }));
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${JSON.stringify(created.json)}`);
  const id = created.json.id as string;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await call(target.url, target.credentials, 'GET', `/applications/${id}/status`);
    const state = status.json?.state as string | undefined;
    if (state === 'Active') return id;
    if (state === 'Error' || Date.now() > deadline) throw new Error(`bench application did not become Active: ${JSON.stringify(status.json)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------- load

async function load(url: string, seconds: number, connections: number, requests: autocannon.Request[]): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, pipelining: 1, requests });
}

/** Load on every target at once (connections split evenly); figures combined. A short unmeasured run first. */
async function measure(targets: { url: string; pool: autocannon.Request[] }[], seconds: number, connections: number): Promise<Measured> {
  const per = Math.max(1, Math.floor(connections / targets.length));
  await Promise.all(targets.map((t) => load(t.url, 1, per, t.pool)));
  const results = await Promise.all(targets.map((t) => load(t.url, seconds, per, t.pool)));
  // Combined: throughputs add up; latency percentiles are taken as the worst instance's (conservative).
  return {
    reqPerSec: results.reduce((sum, r) => sum + r.requests.average, 0),
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    bad: results.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0),
  };
}

interface Setup {
  label: string;
  instances: number;
  store: 'sqlite' | 'postgres';
}

const SETUPS: readonly Setup[] = [
  { label: 'SQLite, 1 instance', instances: 1, store: 'sqlite' },
  { label: 'PostgreSQL+Redis, 1 instance', instances: 1, store: 'postgres' },
  { label: 'PostgreSQL+Redis, 2 instances', instances: 2, store: 'postgres' },
];

async function measureSetup(setup: Setup, installerUrl: string, seconds: number, connections: number): Promise<BenchRow[]> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-bench-scale-'));
  const database = setup.store === 'postgres' ? await freshDatabase() : null;
  const targets: Target[] = [];
  try {
    const config: TargetConfig = { dataDir, databaseUrl: database?.url ?? null, redisUrl: database ? REDIS_URL : null };
    for (let i = 0; i < setup.instances; i++) targets.push(await startTarget(config));
    // One account for the whole deployment: the first instance's key works on every instance.
    const credentials = targets[0]!.credentials;
    const appId = await activeApplication(targets[0]!, installerUrl);
    const getPools = await Promise.all(targets.map(async (t) => ({ url: t.url, pool: await signPool(t.url, credentials, 'GET', '/') })));
    const get = await measure(getPools, seconds, connections);
    const entitlePools = await Promise.all(targets.map(async (t) => ({ url: t.url, pool: await signPool(t.url, credentials, 'POST', `/applications/${appId}/sessions`, '') })));
    const entitle = await measure(entitlePools, seconds, connections);
    const setupText = `${setup.label}, ${connections} connections, ${seconds} s`;
    return [
      { bench: BENCH, metric: `signed GET / throughput (${setupText})`, value: Math.round(get.reqPerSec), unit: 'req/s' },
      { bench: BENCH, metric: `signed GET / latency p99 (${setup.label})`, value: get.p99, unit: 'ms' },
      { bench: BENCH, metric: `signed GET / non-2xx + errors (${setup.label})`, value: get.bad, unit: 'count' },
      { bench: BENCH, metric: `entitle throughput (${setupText})`, value: Math.round(entitle.reqPerSec), unit: 'req/s' },
      { bench: BENCH, metric: `entitle latency p50 (${setup.label})`, value: entitle.p50, unit: 'ms' },
      { bench: BENCH, metric: `entitle latency p99 (${setup.label})`, value: entitle.p99, unit: 'ms' },
      { bench: BENCH, metric: `entitle non-2xx + errors (${setup.label})`, value: entitle.bad, unit: 'count' },
    ];
  } finally {
    for (const t of targets) await t.stop().catch(() => undefined);
    await database?.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const problem = await backendProblem();
  if (problem) {
    process.stderr.write(`bench scale-out: skipped, ${problem}\n`);
    return [];
  }
  const seconds = positiveInt('BENCH_SECONDS', 5);
  const connections = positiveInt('BENCH_CONNECTIONS', 16);
  const pkg = await packageServer();
  const rows: BenchRow[] = [];
  try {
    for (const setup of SETUPS) {
      process.stderr.write(`bench scale-out: ${setup.label}...\n`);
      rows.push(...(await measureSetup(setup, pkg.url, seconds, connections)));
    }
  } finally {
    await pkg.close();
  }
  rows.push({ bench: BENCH, metric: 'machine cpus', value: os.cpus().length, unit: 'count' });
  return rows;
}

// ---------------------------------------------------------------- entry point

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  if (process.argv[2] === 'target') {
    await serveTarget();
  } else {
    const rows = await run();
    for (const r of rows) process.stdout.write(`${r.metric.padEnd(90)} ${String(r.value).padStart(8)} ${r.unit}\n`);
  }
}
