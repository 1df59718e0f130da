/**
 * Benchmark: terminal streaming cost on a real appstreamd over loopback.
 * 1. Time from the redeem POST to the first byte of program output on the WebSocket
 *    (redeem → connect with the token → first binary frame), p50 and p99 over N sessions
 *    run one after another. Target: p50 < 300 ms.
 * 2. Resident memory per live terminal session with M sessions attached at once: the summed
 *    RSS of every session's process tree (from /proc) plus the growth of this process's RSS
 *    (server and clients share it), divided by M. Target: ≤ 30 MB each. Summing RSS counts
 *    shared pages once per process, so the figure errs high.
 *
 * Run alone: node --import tsx bench/stream-latency.ts
 * Or from bench/run.ts: `const rows = await (await import('./stream-latency.js')).run();`
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../test/helpers/server.js';
import { href, rawRequest, SignedClient } from '../test/helpers/signed-client.js';
import { activeApplication, servePackage } from '../test/helpers/streaming.js';
import type { BenchRow } from './bench-row.js';

export type { BenchRow };

export interface StreamLatencyOptions {
  /** Sessions timed one after another for the first-byte latency. */
  sessions?: number;
  /** Untimed sessions first (page cache, JIT). */
  warmup?: number;
  /** Sessions live at once for the memory figure. */
  concurrent?: number;
}

const BENCH = 'stream-latency';
const TARGET_P50_MS = 300;
const TARGET_MB_PER_SESSION = 30;
/** Prints at once, then waits for input in an ordinary shell: an idle interactive session. */
const PROGRAM = '#!/bin/sh\necho FIRST-OUTPUT\nexec sh\n';

interface Grant {
  sessionId: string;
  streamUrl: string;
  connectToken: string;
}

interface Live {
  session: any;
  ws: WebSocket;
}

async function entitleOne(client: SignedClient, app: any): Promise<any> {
  const res = await client.postJson(href(app, 'session:entitle'), {});
  if (res.status !== 201) throw new Error(`entitle → ${res.status} ${res.text.slice(0, 200)}`);
  return res.json;
}

async function redeemOne(entitlementUrl: string): Promise<Grant> {
  const url = new URL(entitlementUrl);
  const res = await rawRequest(url.origin, { method: 'POST', path: url.pathname, headers: { 'content-length': '0', accept: 'application/json' } });
  if (res.status !== 200) throw new Error(`redeem → ${res.status} ${res.text.slice(0, 200)}`);
  return res.json as Grant;
}

/** Opens the stream; resolves at the first binary frame. */
function connectUntilFirstByte(grant: Grant, timeoutMs = 30_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${grant.streamUrl}?token=${encodeURIComponent(grant.connectToken)}`);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no output from session ${grant.sessionId} within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.on('message', (_data, isBinary) => {
      if (!isBinary) return;
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`upgrade refused: ${res.statusCode}`));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function terminate(client: SignedClient, live: Live): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    if (live.ws.readyState === WebSocket.CLOSED) resolve();
    else live.ws.once('close', () => resolve());
  });
  const res = await client.putJson(href(live.session, 'session:terminate'), { state: 'Terminated' });
  if (res.status >= 300) throw new Error(`terminate → ${res.status} ${res.text.slice(0, 200)}`);
  await closed;
}

async function openSession(client: SignedClient, app: any): Promise<{ live: Live; firstByteMs: number }> {
  const session = await entitleOne(client, app);
  const t0 = performance.now();
  const grant = await redeemOne(session.entitlementUrl);
  const ws = await connectUntilFirstByte(grant);
  return { live: { session, ws }, firstByteMs: performance.now() - t0 };
}

function rssBytes(pid: number | 'self'): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone between listing and reading
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const MB = 1024 * 1024;

async function measureLatency(server: TestServer, client: SignedClient, app: any, warmup: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const { live, firstByteMs } = await openSession(client, app);
    if (i >= warmup) times.push(firstByteMs);
    await terminate(client, live);
  }
  // Every program is gone before the memory part starts.
  for (let i = 0; i < 200 && server.app.supervisor.liveCount > 0; i++) await sleep(50);
  return times;
}

async function measureMemory(server: TestServer, client: SignedClient, app: any, concurrent: number): Promise<{ treeMb: number; serverGrowthMb: number; perSessionMb: number; processes: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(500);
  const baseline = rssBytes('self');
  const lives: Live[] = [];
  try {
    for (let i = 0; i < concurrent; i++) lives.push((await openSession(client, app)).live);
    await sleep(1000); // let every shell finish starting
    let treeBytes = 0;
    let processes = 0;
    for (const live of lives) {
      const program = server.app.supervisor.program(live.session.id);
      if (!program) throw new Error(`session ${live.session.id} is not live`);
      for (const pid of program.processTreePids()) {
        treeBytes += rssBytes(pid);
        processes++;
      }
    }
    const growth = Math.max(0, rssBytes('self') - baseline);
    return {
      treeMb: treeBytes / MB,
      serverGrowthMb: growth / MB,
      perSessionMb: (treeBytes + growth) / concurrent / MB,
      processes,
    };
  } finally {
    for (const live of lives) await terminate(client, live).catch(() => live.ws.terminate());
  }
}

export async function run(options: StreamLatencyOptions = {}): Promise<BenchRow[]> {
  const count = options.sessions ?? 30;
  const warmup = options.warmup ?? 3;
  const concurrent = options.concurrent ?? 20;
  const work = await mkdtemp(path.join(os.tmpdir(), 'appstreamd-bench-stream-'));
  await mkdir(path.join(work, 'pkg'));
  const pkg = await servePackage(path.join(work, 'pkg'), [{ path: 'bin/run.sh', content: PROGRAM, mode: 0o755 }]);
  let server: TestServer | undefined;
  try {
    server = await startServer({
      APPSTREAMD_LOG_LEVEL: 'warn',
      APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
      APPSTREAMD_CREATE_APPLICATION_RATE: '1000',
      APPSTREAMD_ENTITLE_SESSION_RATE: '1000',
      APPSTREAMD_SESSION_CAPACITY: String(Math.max(concurrent, 10) + 5),
    });
    const client = new SignedClient(server.url, server.credentials);
    const app = await activeApplication(client, { name: 'bench stream', installerUrl: pkg.url, launchPath: 'bin/run.sh' });

    const times = await measureLatency(server, client, app, warmup, count);
    const memory = await measureMemory(server, client, app, concurrent);
    const isolation = server.app.isolation.isolation;
    return [
      { bench: BENCH, metric: `redeem → first output byte, p50 (${count} sessions, ${isolation} isolation; target < ${TARGET_P50_MS})`, value: round(percentile(times, 50)), unit: 'ms' },
      { bench: BENCH, metric: `redeem → first output byte, p99 (${count} sessions)`, value: round(percentile(times, 99)), unit: 'ms' },
      { bench: BENCH, metric: `session process trees, RSS sum (${concurrent} live, ${memory.processes} processes)`, value: round(memory.treeMb), unit: 'MB' },
      { bench: BENCH, metric: `server RSS growth (${concurrent} live)`, value: round(memory.serverGrowthMb), unit: 'MB' },
      { bench: BENCH, metric: `memory per live terminal session (target ≤ ${TARGET_MB_PER_SESSION})`, value: round(memory.perSessionMb), unit: 'MB' },
    ];
  } finally {
    await server?.stop();
    await pkg.server.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Whether the rows meet the targets (for a standalone run's exit code). */
export function targetsMet(rows: BenchRow[]): boolean {
  const p50 = rows.find((r) => r.metric.startsWith('redeem → first output byte, p50'));
  const perSession = rows.find((r) => r.metric.startsWith('memory per live terminal session'));
  return p50 !== undefined && p50.value < TARGET_P50_MS && perSession !== undefined && perSession.value <= TARGET_MB_PER_SESSION;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const rows = await run();
  for (const r of rows) console.log(`${r.bench}  ${r.metric.padEnd(84)} ${String(r.value).padStart(8)} ${r.unit}`);
  if (!targetsMet(rows)) {
    console.log('target missed');
    process.exitCode = 1;
  }
}
