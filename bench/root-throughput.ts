/**
 * Signed `GET /` on appstreamd versus a bare node:http server answering the same JSON:
 * same autocannon duration and concurrency, each server in its own process. appstreamd
 * gets a rotating pool of requests pre-signed with @smithy/signature-v4 (dates spread over
 * the last minutes, all within the 15-minute skew) so signing costs nothing during the run.
 *
 * Env: BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 16), BENCH_CPU_PROF_DIR (write a
 * V8 CPU profile of each server process under <dir>/appstreamd and <dir>/bare).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import autocannon from 'autocannon';
import type { BenchRow } from './bench-row.js';
import { positiveInt } from './support.js';

const BENCH = 'root-throughput';
const POOL_SIZE = 200;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}
interface Target {
  url: string;
  credentials?: Credentials;
  stop(): Promise<void>;
}


/** Core assignment when the machine has two or more cores and taskset exists (BENCH_PIN=0 turns it off). */
function pinning(): { server: string; generator: string } | undefined {
  if (process.env['BENCH_PIN'] === '0' || os.cpus().length < 2) return undefined;
  const probe = spawnSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
  if (probe.status !== 0) return undefined;
  return { server: '1', generator: '0' };
}

async function startTarget(mode: 'appstreamd' | 'bare' | 'fastify', env: Record<string, string> = {}): Promise<Target> {
  const profileDir = process.env['BENCH_CPU_PROF_DIR'];
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir, mode)] : [];
  // Pinning: each server gets core 1 to itself and the load generator (this process) core 0,
  // the same for both servers, so neither is measured while the generator steals its core.
  const pin = pinning();
  const command = pin ? 'taskset' : process.execPath;
  const args = [...profile, '--import', 'tsx', path.join(here, 'target-server.ts'), mode];
  const child: ChildProcess = spawn(command, pin ? ['-c', pin.server, process.execPath, ...args] : args, {
    cwd: path.resolve(here, '..'),
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('close', (code) => reject(new Error(`${mode} server exited (${code}) before it was ready`)));
  });
  const info = JSON.parse(firstLine) as { url: string; credentials?: Credentials };
  return {
    ...info,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function signPool(url: string, credentials: Credentials): Promise<autocannon.Request[]> {
  const { host, hostname, port } = new URL(url);
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'appstream', sha256: Sha256 });
  const now = Date.now();
  const pool: autocannon.Request[] = [];
  for (let i = 0; i < POOL_SIZE; i++) {
    // One second apart: distinct signatures, oldest 200 s old, well inside the skew.
    const request = new HttpRequest({ method: 'GET', protocol: 'http:', hostname, port: Number(port), path: '/', headers: { host, accept: 'application/hal+json' } });
    const signed = await signer.sign(request, { signingDate: new Date(now - i * 1000) });
    pool.push({ method: 'GET', path: '/', headers: signed.headers as Record<string, string> });
  }
  return pool;
}

async function fetchRoot(url: string, request: autocannon.Request): Promise<string> {
  const res = await fetch(`${url}/`, { headers: request.headers as Record<string, string> });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`signed GET / answered ${res.status}: ${body}`);
  return body;
}

interface Measured {
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, seconds: number, connections: number, requests?: autocannon.Request[]): Promise<Measured> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1, requests });
  return { reqPerSec: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

/** A short unmeasured run first, so both servers are measured warm. */
async function measure(url: string, seconds: number, connections: number, requests?: autocannon.Request[]): Promise<Measured> {
  await load(url, 1, connections, requests);
  return load(url, seconds, connections, requests);
}

export async function run(): Promise<BenchRow[]> {
  const seconds = positiveInt('BENCH_SECONDS', 5);
  const connections = positiveInt('BENCH_CONNECTIONS', 16);

  const appstreamd = await startTarget('appstreamd');
  let rootBody: string;
  let signed: Measured;
  let requestPool: autocannon.Request[] = [];
  try {
    const pool = await signPool(appstreamd.url, appstreamd.credentials!);
    requestPool = pool;
    rootBody = await fetchRoot(appstreamd.url, pool[0]!);
    signed = await measure(appstreamd.url, seconds, connections, pool);
  } finally {
    await appstreamd.stop();
  }

  const bare = await startTarget('bare', { BENCH_ROOT_BODY: rootBody });
  let baseline: Measured;
  try {
    // The same signed requests go to every server, so each parses the same bytes.
    baseline = await measure(bare.url, seconds, connections, requestPool);
  } finally {
    await bare.stop();
  }

  // Reference only: plain fastify, the framework every request passes through.
  const plain = await startTarget('fastify', { BENCH_ROOT_BODY: rootBody });
  let framework: Measured;
  try {
    framework = await measure(plain.url, seconds, connections, requestPool);
  } finally {
    await plain.stop();
  }

  const setup = `${connections} connections, ${seconds} s${pinning() ? ', server on core 1, load generator on core 0' : ''}`;
  const rows: BenchRow[] = [];
  for (const [name, m] of [
    ['appstreamd signed GET /', signed],
    ['bare node:http GET /', baseline],
    ['plain fastify GET / (reference)', framework],
  ] as const) {
    rows.push({ bench: BENCH, metric: `${name} throughput (${setup})`, value: Math.round(m.reqPerSec), unit: 'req/s' });
    rows.push({ bench: BENCH, metric: `${name} latency p50`, value: m.p50, unit: 'ms' });
    rows.push({ bench: BENCH, metric: `${name} latency p99`, value: m.p99, unit: 'ms' });
    rows.push({ bench: BENCH, metric: `${name} non-2xx + errors`, value: m.non2xx + m.errors, unit: 'count' });
  }
  rows.push({ bench: BENCH, metric: 'throughput ratio plain fastify / baseline (framework ceiling)', value: Math.round((framework.reqPerSec / baseline.reqPerSec) * 1000) / 1000, unit: 'x' });
  rows.push({ bench: BENCH, metric: 'throughput ratio appstreamd / baseline', value: Math.round((signed.reqPerSec / baseline.reqPerSec) * 1000) / 1000, unit: 'x' });
  return rows;
}
