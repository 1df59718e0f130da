/**
 * SIGTERM under load: every request gets either a complete response (2xx, or 503
 * ServiceUnavailableException with Retry-After) or a clean refusal/reset before any response
 * byte, never a cut body; the process exits 0 within 10 s; the next start finds the sessions
 * that were live ended SERVER_SHUTDOWN.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { assertAwsError } from '../helpers/assert-error.js';
import { href, rawRequest, SignedClient, type RawResponse } from '../helpers/signed-client.js';
import { killSessionPrograms, ROOT, serverEnv, sessionProgramPids, startPackages, startServerProcess, waitUntil, type Packages, type ServerProcess } from './support.js';

type Outcome = { kind: 'response'; res: RawResponse } | { kind: 'refused'; code: string } | { kind: 'cut'; detail: string };

const signer = new SignatureV4({ credentials: ROOT, region: 'us-east-1', service: 'appstream', sha256: Sha256 });

/**
 * One signed request on its own connection, telling apart an error before any response byte
 * (refused) from one after the status line arrived (a cut response).
 */
async function signedRequest(baseUrl: string, method: string, target: string, body?: string): Promise<Outcome> {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { host: url.host, accept: 'application/hal+json' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const signed = await signer.sign(new HttpRequest({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: target, headers, body }));
  return new Promise((resolve) => {
    let responded = false;
    const req = http.request({ host: url.hostname, port: url.port, method, path: target, headers: signed.headers, agent: false }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => resolve({ kind: 'cut', detail: `${res.statusCode} then ${err.message}` }));
      res.on('aborted', () => resolve({ kind: 'cut', detail: `${res.statusCode} aborted` }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const declared = res.headers['content-length'];
        if (declared !== undefined && Number(declared) !== Buffer.byteLength(text)) {
          resolve({ kind: 'cut', detail: `${res.statusCode}: ${Buffer.byteLength(text)} of ${declared} bytes` });
          return;
        }
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          resolve({ kind: 'cut', detail: `${res.statusCode}: body is not JSON: ${text.slice(0, 100)}` });
          return;
        }
        resolve({ kind: 'response', res: { status: res.statusCode ?? 0, headers: res.headers, text, json } });
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (responded) resolve({ kind: 'cut', detail: err.message });
      else resolve({ kind: 'refused', code: err.code ?? err.message });
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function ok(client: SignedClient, target: string): Promise<any> {
  const res = await client.get(target);
  assert.equal(res.status, 200, `GET ${target}: ${res.status} ${res.text}`);
  return res.json;
}

describe('SIGTERM under load', () => {
  let work: string;
  let dataDir: string;
  let packages: Packages;
  let proc: ServerProcess | undefined;
  const sessions: string[] = [];

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-sigterm-'));
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-sigterm-data-'));
    packages = await startPackages(work);
    packages.release();
  });

  after(async () => {
    await proc?.kill();
    killSessionPrograms(sessions);
    await packages.close();
    rmSync(work, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('no response is cut, exit 0 within 10 s, live sessions end SERVER_SHUTDOWN', { timeout: 120_000 }, async () => {
    let started = await startServerProcess(serverEnv(dataDir));
    proc = started.proc;
    let client = new SignedClient(started.url, ROOT);
    const collectionHref = href(await ok(client, '/'), 'appstream:applications');
    const createHref = href(await ok(client, collectionHref), 'application:create');
    const body = { installerParameters: '', launchPath: 'bin/run.sh', installerUrl: packages.fastUrl };
    const created = await client.postJson(createHref, { ...body, name: 'target' });
    assert.equal(created.status, 201, created.text);
    await waitUntil('the application to be Active', async () => (await ok(client, href(created.json, 'application:status'))).state === 'Active', 60_000);
    const target = await ok(client, href(created.json, 'self'));
    for (let i = 0; i < 2; i++) {
      const entitled = await client.postJson(href(target, 'session:entitle'), {});
      assert.equal(entitled.status, 201, entitled.text);
      sessions.push(entitled.json.id);
      const url = new URL(entitled.json.entitlementUrl);
      const redeemed = await rawRequest(url.origin, { method: 'POST', path: url.pathname, headers: { 'content-length': '0' } });
      assert.equal(redeemed.status, 200, redeemed.text);
    }
    await waitUntil('both programs to run', () => sessionProgramPids(sessions).size === 2, 20_000);

    // Load: concurrent workers loop signed GETs and creates until the server stops answering.
    const outcomes: Outcome[] = [];
    let stopLoad = false;
    const worker = async (w: number) => {
      for (let n = 0; !stopLoad; n++) {
        const outcome = n % 3 === 0
          ? await signedRequest(started.url, 'POST', createHref, JSON.stringify({ ...body, name: `load ${w}.${n}` }))
          : await signedRequest(started.url, 'GET', n % 3 === 1 ? '/' : collectionHref);
        outcomes.push(outcome);
        if (outcome.kind === 'refused' && !proc!.running) return;
      }
    };
    const workers = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    await waitUntil('the load to run', () => outcomes.length >= 40, 30_000);

    const signalledAt = Date.now();
    proc.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([proc.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 15_000)))]);
    clearTimeout(timer);
    const tookMs = Date.now() - signalledAt;
    stopLoad = true;
    await workers;
    assert.ok(exit, `the process did not exit within 15 s of SIGTERM:\n${proc.output.slice(-2000)}`);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM:\n${proc.output.slice(-2000)}`);
    assert.ok(tookMs < 10_000, `exit took ${tookMs} ms`);

    const cut = outcomes.filter((o) => o.kind === 'cut');
    assert.deepEqual(cut, [], 'responses cut mid-way');
    let answered = 0;
    let unavailable = 0;
    for (const o of outcomes) {
      if (o.kind !== 'response') continue;
      answered++;
      if (o.res.status === 503) {
        assertAwsError(o.res, 503, 'ServiceUnavailableException');
        unavailable++;
      } else {
        assert.ok(o.res.status >= 200 && o.res.status < 300, `unexpected ${o.res.status}: ${o.res.text}`);
      }
    }
    const refused = outcomes.filter((o) => o.kind === 'refused');
    for (const o of refused) assert.ok(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up'].includes((o as { code: string }).code), `refusal: ${JSON.stringify(o)}`);
    assert.ok(answered >= 40, `${answered} answered`);
    assert.ok(refused.length > 0, 'the load went on until the server refused connections');
    console.log(`# sigterm: ${answered} answered (${unavailable} 503), ${refused.length} refused, exit after ${tookMs} ms`);

    // The next start finds nothing live: the two sessions ended SERVER_SHUTDOWN, programs gone.
    assert.equal(sessionProgramPids(sessions).size, 0, 'no session program outlived the shutdown');
    started = await startServerProcess(serverEnv(dataDir));
    proc = started.proc;
    client = new SignedClient(started.url, ROOT);
    for (const id of sessions) {
      const session = await ok(client, href(target, 'session:by-id', { session_id: id }));
      const status = await ok(client, href(session, 'session:status'));
      assert.ok(['Completed', 'Terminated'].includes(status.state), `session ${id} is ${status.state}`);
      assert.equal(session.endReason, 'SERVER_SHUTDOWN');
    }
    assert.equal((await proc.kill()).signal, 'SIGKILL');
  });
});
