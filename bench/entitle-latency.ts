/**
 * Benchmark: latency of signed `session:entitle` POSTs on SQLite. The server runs in its own
 * process (this file with `--target`) holding one Active application whose capacity and the
 * account's entitle rate are raised out of the way; 20 concurrent clients on keep-alive
 * connections send pre-signed POSTs (signed with @smithy/signature-v4, so signing costs
 * nothing during the run) and time each request to its complete answer. Target: p99 < 5 ms.
 *
 * Env: BENCH_ENTITLES (default 3000 timed), BENCH_ENTITLE_CLIENTS (default 20), BENCH_CPU_PROF_DIR
 * (write a V8 CPU profile of the server process there).
 * Run alone: node --import tsx bench/entitle-latency.ts
 * From bench/run.ts: { name: 'entitle-latency', load: () => import('./entitle-latency.js') }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { BenchRow } from './bench-row.js';
import { positiveInt, stopWhenParentAsks } from './support.js';

const BENCH = 'entitle-latency';
const POOL_SIZE = 500;
const WARMUP = 300;
const SERIAL_ENTITLES = 1000;
const TARGET_P99_MS = 5;
const here = fileURLToPath(import.meta.url);

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

interface TargetInfo {
  url: string;
  credentials: Credentials;
  applicationId: string;
}

interface SignedRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

interface Response {
  status: number;
  text: string;
}


// --- the server process -----------------------------------------------------------------

/** Starts appstreamd on SQLite with one Active application; prints TargetInfo as one line. */
async function serveTarget(): Promise<() => Promise<void>> {
  const { loadSettings } = await import('../src/config/settings.js');
  const { createApp } = await import('../src/http/app.js');
  const { createLogger } = await import('../src/http/logger.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-bench-entitle-'));
  const settings = loadSettings({
    APPSTREAMD_PORT: '0',
    APPSTREAMD_DATA_DIR: dataDir,
    APPSTREAMD_LOG_LEVEL: 'warn',
    APPSTREAMD_ENTITLE_SESSION_RATE: '1000000',
  });
  const app = await createApp({ settings, logger: createLogger('warn', process.stderr) });
  const url = await app.listen();
  const credentials = await app.accounts.createAccountWithKey('bench');
  // Entitle needs only an Active application row (no image): skip the install pipeline.
  const row = await app.applications.create({
    accountId: credentials.accountId,
    name: 'entitle bench',
    description: null,
    installerUrl: 'https://example.com/app.tar.gz',
    installerParameters: '',
    launchPath: 'bin/run.sh',
    launchParameters: '',
    logBucket: null,
    logPaths: [],
    streamProtocol: 'terminal',
    sessionCapacity: 1_000_000,
  });
  if (!(await app.applications.transition(row.id, ['New'], 'Active'))) throw new Error('could not make the bench application Active');
  const info: TargetInfo = { url, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }, applicationId: row.id };
  process.stdout.write(JSON.stringify(info) + '\n');
  return async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

async function startTarget(): Promise<TargetInfo & { stop(): Promise<void> }> {
  const profileDir = process.env['BENCH_CPU_PROF_DIR'];
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir)] : [];
  const child: ChildProcess = spawn(process.execPath, [...profile, '--import', 'tsx', here, '--target'], {
    cwd: path.resolve(path.dirname(here), '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('close', (code) => reject(new Error(`bench server exited (${code}) before it was ready`)));
  });
  return {
    ...(JSON.parse(firstLine) as TargetInfo),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

// --- the clients --------------------------------------------------------------------------

function send(agent: http.Agent, url: URL, method: string, target: string, headers: Record<string, string>, body?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: target, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function signer(credentials: Credentials) {
  return new SignatureV4({ credentials, region: 'us-east-1', service: 'appstream', sha256: Sha256 });
}

async function signedGet(agent: http.Agent, url: URL, credentials: Credentials, target: string): Promise<{ _links: Record<string, { href: string }> }> {
  const request = new HttpRequest({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: target, headers: { host: url.host, accept: 'application/hal+json' } });
  const signed = await (await signer(credentials)).sign(request);
  const res = await send(agent, url, 'GET', target, signed.headers as Record<string, string>);
  if (res.status !== 200) throw new Error(`GET ${target} → ${res.status} ${res.text.slice(0, 200)}`);
  return JSON.parse(res.text) as { _links: Record<string, { href: string }> };
}

/** The entitle href, reached by HAL navigation from GET / as a client would. */
async function entitleHref(agent: http.Agent, url: URL, info: TargetInfo): Promise<string> {
  const root = await signedGet(agent, url, info.credentials, '/');
  const collection = await signedGet(agent, url, info.credentials, root._links['appstream:applications']!.href);
  const byId = collection._links['application:by-id']!.href.replace('{application_id}', info.applicationId);
  const application = await signedGet(agent, url, info.credentials, byId);
  return application._links['session:entitle']!.href;
}

/** Distinct signed POSTs (dates a second apart, all well inside the 15-minute skew). */
async function signPool(url: URL, credentials: Credentials, target: string): Promise<SignedRequest[]> {
  const s = await signer(credentials);
  const now = Date.now();
  const pool: SignedRequest[] = [];
  for (let i = 0; i < POOL_SIZE; i++) {
    const body = JSON.stringify({ opaqueData: `bench-${i}`, expirationDuration: 60 });
    const request = new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: target,
      headers: { host: url.host, accept: 'application/hal+json', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      body,
    });
    const signed = await s.sign(request, { signingDate: new Date(now - (i % 300) * 1000) });
    pool.push({ path: target, headers: signed.headers as Record<string, string>, body });
  }
  return pool;
}

/** `clients` loops share `total` requests; returns each request's latency in ms. */
async function fire(agent: http.Agent, url: URL, pool: SignedRequest[], total: number, clients: number): Promise<{ latencies: number[]; failures: string[]; elapsedMs: number }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const started = performance.now();
  const loop = async () => {
    while (next < total) {
      const r = pool[next++ % pool.length]!;
      const t0 = performance.now();
      const res = await send(agent, url, 'POST', r.path, r.headers, r.body);
      latencies.push(performance.now() - t0);
      if (res.status !== 201 && failures.length < 5) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
      else if (res.status !== 201) failures.push('');
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return { latencies, failures, elapsedMs: performance.now() - started };
}

/**
 * Paced clients: each of `clients` sends one request every `intervalMs` (on a fixed
 * schedule, not waiting for the previous answer beyond its slot), so the offered load stays
 * below saturation and the latency measured is the service's, not the queue's.
 */
async function firePaced(agent: http.Agent, url: URL, pool: SignedRequest[], perClient: number, clients: number, intervalMs: number): Promise<{ latencies: number[]; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const loop = async (offset: number) => {
    const start = performance.now() + offset;
    for (let i = 0; i < perClient; i++) {
      const due = start + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = pool[next++ % pool.length]!;
      const t0 = performance.now();
      const res = await send(agent, url, 'POST', r.path, r.headers, r.body);
      latencies.push(performance.now() - t0);
      if (res.status !== 201) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
    }
  };
  // Spread the clients' phases over one interval so they do not fire in lockstep.
  await Promise.all(Array.from({ length: clients }, (_v, c) => loop((c * intervalMs) / clients)));
  return { latencies, failures };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

export async function run(): Promise<BenchRow[]> {
  const total = positiveInt('BENCH_ENTITLES', 3000);
  const clients = positiveInt('BENCH_ENTITLE_CLIENTS', 20);
  const target = await startTarget();
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  try {
    const url = new URL(target.url);
    const entitle = await entitleHref(agent, url, target);
    const pool = await signPool(url, target.credentials, entitle);
    const warm = await fire(agent, url, pool, WARMUP, clients);
    if (warm.failures.length > 0) throw new Error(`warm-up entitles failed: ${warm.failures.slice(0, 3).join(' | ')}`);
    const rows: BenchRow[] = [];
    // The loaded run (the target), then one client alone: its latency is the service time
    // without queueing behind the other clients' requests.
    for (const [n, c] of [
      [total, clients],
      [Math.min(total, SERIAL_ENTITLES), 1],
    ] as const) {
      const { latencies, failures, elapsedMs } = await fire(agent, url, pool, n, c);
      if (failures.length > 0) throw new Error(`${failures.length} of ${n} entitles were not 201: ${failures.slice(0, 3).join(' | ')}`);
      const setup = `${n} entitles, ${c} client${c === 1 ? '' : 's'}, SQLite`;
      rows.push(
        { bench: BENCH, metric: `signed entitle POST latency p50 (${setup})`, value: round(percentile(latencies, 50)), unit: 'ms' },
        { bench: BENCH, metric: `signed entitle POST latency p99 (${setup})`, value: round(percentile(latencies, 99)), unit: 'ms' },
        { bench: BENCH, metric: `signed entitle POST latency max (${setup})`, value: round(Math.max(...latencies)), unit: 'ms' },
        { bench: BENCH, metric: `signed entitle POST throughput (${setup})`, value: Math.round((n / elapsedMs) * 1000), unit: 'req/s' },
      );
      if (c === clients) {
        rows.push({ bench: BENCH, metric: `p99 with ${c} clients within target (< ${TARGET_P99_MS} ms)`, value: percentile(latencies, 99) < TARGET_P99_MS ? 1 : 0, unit: 'bool' });
      }
    }
    // 20 concurrent clients at a steady pace (default 10 entitles/s each = 200/s offered):
    // the latency a client sees when the server is not saturated.
    const perSecond = positiveInt('BENCH_ENTITLE_CLIENT_RATE', 10);
    const perClient = Math.max(10, Math.floor(total / clients));
    const paced = await firePaced(agent, url, pool, perClient, clients, 1000 / perSecond);
    if (paced.failures.length > 0) throw new Error(`${paced.failures.length} paced entitles were not 201: ${paced.failures.slice(0, 3).join(' | ')}`);
    const setup = `${clients} clients x ${perSecond}/s = ${clients * perSecond}/s offered, SQLite`;
    rows.push(
      { bench: BENCH, metric: `signed entitle POST latency p50 (${setup})`, value: round(percentile(paced.latencies, 50)), unit: 'ms' },
      { bench: BENCH, metric: `signed entitle POST latency p99 (${setup})`, value: round(percentile(paced.latencies, 99)), unit: 'ms' },
      { bench: BENCH, metric: `paced p99 with ${clients} clients within target (< ${TARGET_P99_MS} ms)`, value: percentile(paced.latencies, 99) < TARGET_P99_MS ? 1 : 0, unit: 'bool' },
    );
    return rows;
  } finally {
    agent.destroy();
    await target.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  if (process.argv[2] === '--target') {
    stopWhenParentAsks(await serveTarget());
  } else {
    const rows = await run();
    for (const r of rows) console.log(`${r.bench}  ${r.metric.padEnd(64)} ${String(r.value).padStart(10)} ${r.unit}`);
    if (rows.some((r) => r.unit === 'bool' && r.value === 0)) process.exitCode = 1;
  }
}
