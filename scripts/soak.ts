/**
 * `npm run soak`: a bounded mixed workload (SOAK_SECONDS, default 60) from 200 concurrent
 * connections against a real `appstreamd serve` process on loopback: signed GETs, creates,
 * entitles, redemptions with live programs, terminates. Reports p50/p99 latency, the status
 * mix and the server's RSS; fails on any 5xx, on RSS growth of 20% or more between the first
 * and the last 10 s, or if the server does not exit 0 on SIGTERM afterwards.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { killSessionPrograms, ROOT, serverEnv, startPackages, startServerProcess, waitUntil } from '../test/durability/support.js';

const SECONDS = Number(process.env['SOAK_SECONDS'] ?? 60);
const CONNECTIONS = Number(process.env['SOAK_CONNECTIONS'] ?? 200);
/** Live programs at once (each is a real process on this machine). */
const MAX_LIVE = 8;
const SCRIPT = '#!/bin/sh\necho ready\nread line\necho "got $line"\n';

interface Answer {
  status: number;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- HAL bodies
}

const signer = new SignatureV4({ credentials: ROOT, region: 'us-east-1', service: 'appstream', sha256: Sha256 });

function serverRssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<number> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-soak-'));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-soak-data-'));
  const packages = await startPackages(work, SCRIPT);
  packages.release();
  const { proc, url } = await startServerProcess(serverEnv(dataDir, { APPSTREAMD_LOG_LEVEL: 'warn', APPSTREAMD_CONNECT_TIMEOUT_S: '30' }));
  const base = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const sessionIds: string[] = [];
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const fiveXx: string[] = [];
  let clientErrors = 0;

  async function send(method: string, target: string, body?: unknown, signed = true): Promise<Answer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let headers: Record<string, string> = { host: base.host, accept: 'application/hal+json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    } else if (method === 'POST') headers['content-length'] = '0';
    if (signed) {
      const signedReq = await signer.sign(new HttpRequest({ method, protocol: 'http:', hostname: base.hostname, port: Number(base.port), path: target, headers, body: payload }));
      headers = signedReq.headers as Record<string, string>;
    }
    const startedAt = performance.now();
    return new Promise((resolve) => {
      const req = http.request({ host: base.hostname, port: base.port, method, path: target, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          latencies.push(performance.now() - startedAt);
          const status = res.statusCode ?? 0;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const text = Buffer.concat(chunks).toString('utf8');
          if (status >= 500 && fiveXx.length < 10) fiveXx.push(`${status} ${method} ${target}: ${text.slice(0, 200)}`);
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status, json });
        });
        res.on('error', () => {
          clientErrors++;
          resolve({ status: 0, json: undefined });
        });
      });
      req.on('error', () => {
        clientErrors++;
        resolve({ status: 0, json: undefined });
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  let failed = false;
  try {
    // One Active application to entitle on.
    const appBody = { name: 'soak', installerUrl: packages.fastUrl, installerParameters: '', launchPath: 'bin/run.sh' };
    const made = await send('POST', '/applications', appBody);
    if (made.status !== 201) throw new Error(`create failed: ${made.status} ${JSON.stringify(made.json)}`);
    const appId: string = made.json.id;
    await waitUntil('the soak application to be Active', async () => (await send('GET', `/applications/${appId}/status`)).json?.state === 'Active', 60_000);
    latencies.length = 0;
    statuses.clear();

    let live = 0;
    let creates = 0;
    let redemptions = 0;
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    const rss: { at: number; mb: number }[] = [];
    const sampler = setInterval(() => rss.push({ at: Date.now() - started, mb: serverRssMb(proc.pid) }), 1000);

    /** Entitle, redeem (a real program starts), then terminate: the full session cycle. */
    const sessionCycle = async () => {
      live++;
      try {
        const entitled = await send('POST', `/applications/${appId}/sessions`, { opaqueData: 'soak' });
        if (entitled.status !== 201) return;
        sessionIds.push(entitled.json.id);
        const token = new URL(entitled.json.entitlementUrl).pathname;
        const redeemed = await send('POST', token, undefined, false);
        if (redeemed.status === 200) redemptions++;
        await send('GET', `/applications/${appId}/sessions/${entitled.json.id}/status`);
        await send('PUT', `/applications/${appId}/sessions/${entitled.json.id}/status`, { state: 'Terminated' });
      } finally {
        live--;
      }
    };

    const worker = async (w: number) => {
      for (let n = 0; Date.now() < deadline; n++) {
        const roll = (w * 7919 + n * 104729) % 100;
        if (roll < 55) {
          await send('GET', ['/', '/applications', `/applications/${appId}`, `/applications/${appId}/status`, `/applications/${appId}/sessions`][n % 5]!);
        } else if (roll < 65) {
          await send('GET', `/applications/${randomUUID()}`); // 404 path
        } else if (roll < 72) {
          // Most creates fail fast (nothing listens on port 9); some install for real.
          creates++;
          const installerUrl = creates % 10 === 0 ? packages.fastUrl : 'http://127.0.0.1:9/none.tgz';
          await send('POST', '/applications', { ...appBody, name: `soak ${w}.${n}`, installerUrl });
        } else if (roll < 90 || live >= MAX_LIVE) {
          await send('POST', `/applications/${appId}/sessions`, { expirationDuration: 1 });
        } else {
          await sessionCycle();
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;

    const first = rss.filter((s) => s.at < 10_000).map((s) => s.mb);
    const last = rss.filter((s) => s.at >= seconds * 1000 - 10_000).map((s) => s.mb);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const growth = (mean(last) - mean(first)) / mean(first);
    const sorted = latencies.slice().sort((a, b) => a - b);
    const total = latencies.length;
    const fives = [...statuses.entries()].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
    const mix = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}=${n}`).join(' ');

    proc.signal('SIGTERM');
    const exit = await proc.exited;
    failed = fives > 0 || !(growth < 0.2) || exit.code !== 0 || clientErrors > 0;
    for (const line of fiveXx) process.stdout.write(`  ${line}\n`);
    process.stdout.write(
      `soak: ${total} requests in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)}/s) from ${CONNECTIONS} connections; ${mix}; ` +
        `5xx=${fives} clientErrors=${clientErrors} creates=${creates} redemptions=${redemptions} ` +
        `p50=${percentile(sorted, 50).toFixed(1)} ms p99=${percentile(sorted, 99).toFixed(1)} ms max=${(sorted.at(-1) ?? NaN).toFixed(1)} ms ` +
        `server rss first10s=${mean(first).toFixed(1)} MiB last10s=${mean(last).toFixed(1)} MiB (${(growth * 100).toFixed(1)}%) ` +
        `exit=${exit.code ?? exit.signal} ${failed ? 'FAIL' : 'OK'}\n`,
    );
  } finally {
    agent.destroy();
    await proc.kill();
    killSessionPrograms(sessionIds);
    await packages.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

process.exit(await main());
