/**
 * `npm run fuzz`: a real appstreamd in this process (temp data folder, loopback only) gets
 * malformed requests of every kind over raw TCP and node:http — random bytes, broken request
 * lines, bad encodings, deep JSON, bad Content-Length, header injection, path traversal,
 * wrong methods, mutated signatures, validly signed fuzzed bodies. Bounded: FUZZ_REQUESTS
 * (default 10,000) and FUZZ_SECONDS (default 600). Fails on any 5xx, any request unanswered
 * after 5 s, any file content leaked by a traversal, a server that no longer answers GET /,
 * or RSS more than 20% above the warm-up baseline.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { loadSettings } from '../src/config/settings.js';
import { createApp } from '../src/http/app.js';
import { createLogger } from '../src/http/logger.js';

// GC must be callable to compare RSS after collection: re-run with --expose-gc if needed.
const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') {
  const self = fileURLToPath(import.meta.url);
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
const collect = gc!;

const TOTAL = Number(process.env['FUZZ_REQUESTS'] ?? 10_000);
const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 600);
const CONCURRENCY = 24;
const ANSWER_MS = 5_000;
/** Raw cases whose server may rightly wait for more bytes get this long before the half-close. */
const HALF_CLOSE_AFTER_MS = 1_000;
const LEAK_MARKERS = ['root:x:0:0', '"name": "appstreamd"', 'import { Command }', 'BEGIN', 'master'];

interface Outcome {
  statuses: number[];
  /** Neither a response nor a close within ANSWER_MS. */
  unanswered: boolean;
  /** A client-side error (reset, refused) with no response: a clean refusal. */
  refused: boolean;
  body: string;
}

interface Target {
  host: string;
  port: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

// ---------------------------------------------------------------------------------------------
// Transports

/** Writes raw bytes; reads whatever comes back until close or the answer deadline. */
function sendRaw(t: Target, chunks: Buffer[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port });
    const received: Buffer[] = [];
    let settled = false;
    const finish = (unanswered: boolean, refused = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(halfClose);
      clearTimeout(deadline);
      socket.destroy();
      const text = Buffer.concat(received).toString('latin1');
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      resolve({ statuses, unanswered: unanswered && statuses.length === 0, refused: refused && statuses.length === 0, body: text });
    };
    socket.on('data', (c: Buffer) => {
      received.push(c);
      // A full response (headers and declared body) is enough; keep-alive would hold the socket.
      const text = Buffer.concat(received).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      if (head >= 0) {
        const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head));
        if (length && text.length - head - 4 >= Number(length[1])) finish(false);
      }
    });
    socket.on('close', () => finish(false));
    socket.on('error', () => finish(false, true));
    const halfClose = setTimeout(() => socket.end(), HALF_CLOSE_AFTER_MS);
    const deadline = setTimeout(() => finish(true), ANSWER_MS + HALF_CLOSE_AFTER_MS);
    socket.once('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

function sendHttp(t: Target, method: string, target: string, headers: http.OutgoingHttpHeaders, body?: Buffer | string): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(o);
    };
    const deadline = setTimeout(() => {
      req.destroy();
      finish({ statuses: [], unanswered: true, refused: false, body: '' });
    }, ANSWER_MS);
    let req: http.ClientRequest;
    try {
      req = http.request({ host: t.host, port: t.port, method, path: target, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => finish({ statuses: [res.statusCode ?? 0], unanswered: false, refused: false, body: '' }));
        res.on('end', () => finish({ statuses: [res.statusCode ?? 0], unanswered: false, refused: false, body: Buffer.concat(chunks).toString('utf8') }));
      });
    } catch {
      // node:http refused to send it (invalid characters): nothing reached the server.
      clearTimeout(deadline);
      resolve({ statuses: [], unanswered: false, refused: true, body: '' });
      return;
    }
    req.on('error', () => finish({ statuses: [], unanswered: false, refused: true, body: '' }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function signedHeaders(t: Target, method: string, target: string, body: Buffer | string | undefined, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const [pathname, query] = target.split('?') as [string, string | undefined];
  const headers: Record<string, string> = { host: `${t.host}:${t.port}`, accept: 'application/hal+json', ...extra };
  if (body !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(body));
    headers['content-type'] ??= 'application/json';
  }
  const queryObj: Record<string, string> = {};
  if (query) for (const [k, v] of new URLSearchParams(query)) queryObj[k] = v;
  const signer = new SignatureV4({ credentials: t.credentials, region: 'us-east-1', service: 'appstream', sha256: Sha256 });
  const signed = await signer.sign(new HttpRequest({ method, protocol: 'http:', hostname: t.host, port: t.port, path: pathname, query: queryObj, headers, body }));
  return signed.headers as Record<string, string>;
}

function rawRequestBytes(method: string, target: string, headers: Record<string, string>, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

// ---------------------------------------------------------------------------------------------
// Cases

type Case = (t: Target, ctx: Context) => Promise<Outcome>;

interface Context {
  appId: string;
  bodies: string[];
  pick<T>(items: readonly T[]): T;
  int(max: number): number;
}

const LOOPBACK_INSTALLER = 'http://127.0.0.1:9/fuzz.tgz';

/** Installer URLs in fuzzed bodies never leave loopback (port 9: nothing listens). */
function confine(body: Record<string, unknown>): Record<string, unknown> {
  const url = body['installerUrl'];
  if (typeof url === 'string') {
    try {
      const parsed = new URL(url);
      if (parsed.hostname !== '127.0.0.1') body['installerUrl'] = LOOPBACK_INSTALLER;
    } catch {
      // not a URL: refused by validation, stays as is
    }
  }
  return body;
}

function fuzzedBodies(count: number): string[] {
  const str = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ minLength: 200, maxLength: 1500 }), fc.constantFrom('', ' ', 'terminal', 'x11', 'bin/run.sh', LOOPBACK_INSTALLER, 'file:///etc/passwd', 'C:\\a.log', 'b-u-c'));
  const value = fc.oneof(str, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(str, { maxLength: 25 }), fc.jsonValue({ maxDepth: 3 }));
  const fields = ['name', 'description', 'installerUrl', 'installerParameters', 'launchPath', 'launchParameters', 'launchCommand', 'logBucket', 'logPaths', 'streamProtocol', 'opaqueData', 'expirationDuration', 'state', 'resumeSecret'];
  const body = fc.tuple(fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: 8 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }));
  const valid = fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== ''), installerUrl: fc.constant(LOOPBACK_INSTALLER), installerParameters: fc.constant(''), launchPath: fc.constantFrom('bin/run.sh', 'a b', '"x"') });
  return fc
    .sample(fc.oneof(body.map(([a, b]) => ({ ...b, ...a })), valid), { numRuns: count, seed: 42 })
    .map((b) => JSON.stringify(confine(b as Record<string, unknown>)));
}

const TRAVERSALS = [
  '/applications/../../etc/passwd',
  '/applications/%2e%2e/%2e%2e/etc/passwd',
  '/applications/..%2f..%2fetc%2fpasswd',
  '/applications/%252e%252e%252fetc%252fpasswd',
  '/viewer/../../package.json',
  '/viewer/%2e%2e/%2e%2e/package.json',
  '/viewer/..%2f..%2fsrc%2fcli%2fmain.ts',
  '/vendor/../../../etc/passwd',
  '/vendor/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '/vendor/@xterm/xterm/../../../package.json',
  '/viewer/....//....//etc/passwd',
  '/viewer/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
  '/stream/../../etc/passwd',
  '/entitlements/..%2F..%2Fmaster.key',
  '/entitlements/%00',
];

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO'];

const cases: Case[] = [
  // Random bytes.
  (t, c) => sendRaw(t, [randomBytes(1 + c.int(2000))]),
  // Random bytes after a plausible start.
  (t, c) => sendRaw(t, [Buffer.from('GET / HTTP/1.1\r\n'), randomBytes(1 + c.int(500)), Buffer.from('\r\n\r\n')]),
  // Broken request lines.
  (t, c) => sendRaw(t, [Buffer.from(c.pick(['GET\r\n\r\n', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', ' / HTTP/1.1\r\n\r\n', 'GET  /  HTTP/1.1\r\n\r\n', 'GET / HTTP/1.1 extra\r\n\r\n', 'GET /\tHTTP/1.1\r\n\r\n', 'G\x00T / HTTP/1.1\r\n\r\n', `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 'GET / HTTP/1.1\nHost: x\n\n', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', 'GET / HTTP/1.1\r\n: empty\r\n\r\n', `GET / HTTP/1.1\r\nX: ${'v'.repeat(70_000)}\r\n\r\n`, 'HTTP/1.1 200 OK\r\n\r\n', 'GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\n\r\n']), 'latin1')]),
  // Bad encodings in the path and headers.
  (t, c) => sendRaw(t, [Buffer.concat([Buffer.from('GET /applications/'), c.pick([Buffer.from([0xc0, 0xaf]), Buffer.from([0xff, 0xfe]), Buffer.from([0x00]), Buffer.from('%ZZ'), Buffer.from('%C0%AF'), Buffer.from('%00'), Buffer.from('%ED%A0%80'), Buffer.from('\u00e9', 'latin1')]), Buffer.from(' HTTP/1.1\r\nHost: x\r\nX-Bad: '), c.pick([Buffer.from([0xc0, 0x80]), Buffer.from([0xfe]), Buffer.from([0x7f])]), Buffer.from('\r\n\r\n')])]),
  // Content-Length: huge, negative, duplicate, non-numeric, with Transfer-Encoding.
  (t, c) => sendRaw(t, [Buffer.from(`POST /applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${c.pick(['Content-Length: 99999999999999999999', 'Content-Length: -1', 'Content-Length: 5\r\nContent-Length: 6', 'Content-Length: 5, 6', 'Content-Length: abc', 'Content-Length: 0x10', 'Content-Length: 10\r\nTransfer-Encoding: chunked', 'Transfer-Encoding: chunked, identity', 'Transfer-Encoding: xchunked', 'Content-Length: 1e3', 'Content-Length:  +5', `Content-Length: ${64 * 1024 + 1}`])}\r\n\r\n{}`)]),
  // Declared length larger than what is sent (the server may wait; then the half-close).
  (t, c) => sendRaw(t, [Buffer.from(`POST /applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 + c.int(60_000)}\r\n\r\n{"name":`)]),
  // Chunked bodies, malformed.
  (t, c) => sendRaw(t, [Buffer.from(`POST /applications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${c.pick(['zz\r\n{}\r\n0\r\n\r\n', '2\r\n{}\r\n0\r\n\r\n', 'ffffffffffffffff\r\n{}\r\n0\r\n\r\n', '-1\r\n\r\n', '2;ext=' + 'x'.repeat(5000) + '\r\n{}\r\n0\r\n\r\n'])}`)]),
  // Header injection: CR/LF and NUL inside values, obs-fold, smuggling attempts.
  (t, c) => sendRaw(t, [Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\n${c.pick(['X-A: a\rInjected: 1', 'X-A: a\nInjected: 1', 'X-A: a\x00b', 'X-A: a\r\n folded', 'Authorization: AWS4-HMAC-SHA256 Credential=\r\nX: y', 'X-Amz-Date: 20200101T000000Z\r\n\r\nGET /metrics HTTP/1.1', 'Host: y'])}\r\n\r\n`)]),
  // Path traversal and odd ids, unsigned and signed.
  (t, c) => sendHttp(t, 'GET', c.pick(TRAVERSALS), {}),
  async (t, c) => {
    const target = c.pick(TRAVERSALS);
    return sendRaw(t, [rawRequestBytes('GET', target, await signedHeaders(t, 'GET', target.replace(/%/g, '%25'), undefined))]);
  },
  async (t, c) => {
    const id = c.pick([`${'a'.repeat(10_000)}`, `${c.appId.toUpperCase()}`, `${c.appId} `, `${c.appId}%00`, '%', '%%', '..', '.', `${c.appId}/../${c.appId}`, encodeURIComponent('<script>'), '😀'.repeat(50), randomUUID()]);
    const target = `/applications/${id}${c.pick(['', '/status', '/errors', '/sessions', `/sessions/${id}`, `/sessions/${randomUUID()}/status`])}`;
    try {
      return sendHttp(t, 'GET', target, await signedHeaders(t, 'GET', target, undefined));
    } catch {
      return sendHttp(t, 'GET', target, {});
    }
  },
  // Wrong and unknown methods on every resource.
  async (t, c) => {
    const method = c.pick(METHODS);
    const target = c.pick(['/', '/applications', `/applications/${c.appId}`, `/applications/${c.appId}/status`, `/applications/${c.appId}/sessions`, `/applications/${c.appId}/errors`, '/health', '/metrics', '/entitlements/abc', '/viewer/', '/stream/x']);
    const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined;
    return sendHttp(t, method, target, c.int(2) === 0 ? await signedHeaders(t, method, target, body) : body !== undefined ? { 'content-type': 'application/json', 'content-length': '2' } : {}, body);
  },
  // Signed requests with a mutated signature, credential, date, header or body.
  async (t, c) => {
    const body = c.pick(c.bodies);
    const target = c.pick(['/applications', `/applications/${c.appId}/sessions`]);
    const headers = await signedHeaders(t, 'POST', target, body);
    const auth = headers['authorization']!;
    const mutations: (() => void)[] = [
      () => (headers['authorization'] = auth.replace(/Signature=([0-9a-f])/, (_m, ch: string) => `Signature=${ch === '0' ? '1' : '0'}`)),
      () => (headers['authorization'] = auth.slice(0, auth.length - 1 - c.int(40))),
      () => (headers['authorization'] = auth.replace('us-east-1', 'eu-west-1')),
      () => (headers['authorization'] = auth.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')),
      () => (headers['authorization'] = auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=')),
      () => (headers['authorization'] = auth.replace(/Credential=[^/]+/, 'Credential=AKIANOTAREALKEY00000')),
      () => (headers['authorization'] = auth.replace(/,/g, ',,')),
      () => (headers['authorization'] = `${auth}, Signature=${'0'.repeat(64)}`),
      () => (headers['x-amz-date'] = '20000101T000000Z'),
      () => (headers['x-amz-date'] = 'not-a-date'),
      () => (headers['host'] = 'evil.example'),
      () => (headers['authorization'] = auth.replace(/Signature=.*/, `Signature=${'z'.repeat(64)}`)),
    ];
    c.pick(mutations)();
    const mutateBody = c.int(4) === 0;
    return sendHttp(t, 'POST', target, headers, mutateBody ? `${body} ` : body);
  },
  // Validly signed fuzzed JSON bodies to create, entitle, update, state change, resume.
  async (t, c) => {
    const body = c.pick(c.bodies);
    const [method, target] = c.pick([
      ['POST', '/applications'],
      ['POST', `/applications/${c.appId}/sessions`],
      ['POST', `/applications/${c.appId}`],
      ['PUT', `/applications/${c.appId}/status`],
      ['PUT', `/applications/${c.appId}/sessions/${randomUUID()}/status`],
    ] as const);
    return sendHttp(t, method, target, await signedHeaders(t, method, target, body), body);
  },
  // Unsigned fuzzed bodies to the unsigned entitlement endpoints.
  (t, c) => {
    const body = c.pick(c.bodies);
    return sendHttp(t, 'POST', `/entitlements/${c.pick(['abc', 'x'.repeat(300), '%ff%fe', randomUUID()])}${c.pick(['', '/resume'])}`, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body);
  },
  // Bad encodings and structure in validly signed bodies.
  async (t, c) => {
    const depth = 1 + c.int(12_000);
    const body = c.pick([
      Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), Buffer.from('"}')]), // overlong UTF-8
      Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from('"}')]), // not UTF-8
      Buffer.from('{"name":"a\u0000b","installerUrl":"http://127.0.0.1:9/\u0000","installerParameters":"","launchPath":"a\u0000"}'), // NUL in strings
      Buffer.from('{"name":"\\ud800","installerParameters":"\\udfff"}'), // lone surrogates
      Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`), // deep arrays
      Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`), // deep objects
      Buffer.from(`{"name":${'['.repeat(depth)}${']'.repeat(depth)}}`), // deep value in a field
      Buffer.from(`{"logPaths":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      Buffer.from('\ufeff{}'), // BOM
      Buffer.from('{"a":1,"a":2}'), // duplicate keys
      Buffer.from('{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}}}'),
      Buffer.from('{"name":1e999999}'),
      Buffer.from('[]'),
      Buffer.from('"string"'),
      Buffer.from('{'),
      Buffer.from(''),
    ]);
    const target = c.pick(['/applications', `/applications/${c.appId}/sessions`, `/applications/${c.appId}`]);
    return sendHttp(t, 'POST', target, await signedHeaders(t, 'POST', target, body, { 'content-type': c.pick(['application/json', 'application/json; charset=latin1', 'text/plain', 'application/hal+json']) }), body);
  },
];

// ---------------------------------------------------------------------------------------------

function rssMb(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

async function settleMemory(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    collect();
    await new Promise((r) => setTimeout(r, 100));
  }
  return rssMb();
}

async function main(): Promise<number> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-fuzz-'));
  const errorLines: string[] = [];
  let errorCount = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      // Keep only error lines (level >= 50), bounded, so the log does not grow RSS.
      for (const line of chunk.toString('utf8').split('\n')) {
        if (/"level":(5|6)\d/.test(line)) {
          errorCount++;
          if (errorLines.length < 5) errorLines.push(line.slice(0, 600));
        }
      }
      cb();
    },
  });
  const settings = loadSettings({
    APPSTREAMD_PORT: '0',
    APPSTREAMD_HOST: '127.0.0.1',
    APPSTREAMD_DATA_DIR: dataDir,
    APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
    APPSTREAMD_CREATE_APPLICATION_RATE: '1000000',
    APPSTREAMD_ENTITLE_SESSION_RATE: '1000000',
  });
  const app = await createApp({ settings, logger: createLogger('warn', sink) });
  const url = new URL(await app.listen());
  const credentials = await app.accounts.createAccountWithKey('fuzz');
  const target: Target = { host: url.hostname, port: Number(url.port), credentials };

  let failed = false;
  const started = Date.now();
  const counts = { sent: 0, byClass: new Map<string, number>(), fiveXx: 0, unanswered: 0, refused: 0, leaks: 0 };
  const samples: string[] = [];
  try {
    const appBody = JSON.stringify({ name: 'fuzz target', installerUrl: LOOPBACK_INSTALLER, installerParameters: '', launchPath: 'bin/run.sh' });
    const made = await sendHttp(target, 'POST', '/applications', await signedHeaders(target, 'POST', '/applications', appBody), appBody);
    const appId = (JSON.parse(made.body) as { id: string }).id;
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const ctx: Context = {
      appId,
      bodies: fuzzedBodies(3000),
      pick: (items) => items[next() % items.length]!,
      int: (max) => next() % max,
    };

    const warmup = Math.min(1000, Math.floor(TOTAL / 10));
    let issued = 0;
    const record = (which: number, outcome: Outcome) => {
      counts.sent++;
      if (outcome.unanswered) {
        counts.unanswered++;
        if (samples.length < 10) samples.push(`unanswered: case ${which}`);
      }
      if (outcome.refused) counts.refused++;
      for (const status of outcome.statuses) {
        const cls = `${Math.floor(status / 100)}xx`;
        counts.byClass.set(cls, (counts.byClass.get(cls) ?? 0) + 1);
        // No shutdown happens during the fuzz, so even a 503 is a failure.
        if (status >= 500) {
          counts.fiveXx++;
          if (samples.length < 10) samples.push(`${status} from case ${which}: ${outcome.body.slice(0, 300)}`);
        }
      }
      if (LEAK_MARKERS.some((m) => outcome.body.includes(m))) {
        counts.leaks++;
        if (samples.length < 10) samples.push(`leak from case ${which}: ${outcome.body.slice(0, 200)}`);
      }
    };
    /** CONCURRENCY workers send cases round-robin until `n` were issued or time is up. */
    const runUntil = async (n: number) => {
      const worker = async () => {
        while (issued < n && Date.now() - started < SECONDS * 1000) {
          const which = issued++ % cases.length;
          let outcome: Outcome;
          try {
            outcome = await cases[which]!(target, ctx);
          } catch (err) {
            outcome = { statuses: [], unanswered: false, refused: true, body: String(err) };
          }
          record(which, outcome);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };
    // Warm-up (JIT, caches, pools), then the RSS baseline, then the rest.
    await runUntil(warmup);
    const baseline = await settleMemory();
    await runUntil(TOTAL);
    await new Promise((r) => setTimeout(r, 500)); // let failing builds of fuzzed creates finish
    const end = await settleMemory();

    const root = await sendHttp(target, 'GET', '/', await signedHeaders(target, 'GET', '/', undefined));
    const rootOk = root.statuses[0] === 200;
    const growth = (end - baseline) / baseline;
    const seconds = (Date.now() - started) / 1000;
    const classes = [...counts.byClass.entries()].sort().map(([k, v]) => `${k}=${v}`).join(' ');
    failed = counts.fiveXx > 0 || counts.unanswered > 0 || counts.leaks > 0 || !rootOk || growth > 0.2 || errorCount > 0;
    for (const s of samples) process.stdout.write(`  ${s}\n`);
    for (const l of errorLines) process.stdout.write(`  error log: ${l}\n`);
    process.stdout.write(
      `fuzz: ${counts.sent} requests in ${seconds.toFixed(1)} s (${classes}; ${counts.refused} refused/reset with no response) ` +
        `5xx=${counts.fiveXx} unanswered=${counts.unanswered} leaks=${counts.leaks} errorLogs=${errorCount} ` +
        `GET /=${root.statuses[0] ?? 'none'} rss ${baseline.toFixed(1)} -> ${end.toFixed(1)} MiB (${(growth * 100).toFixed(1)}%) ` +
        `${failed ? 'FAIL' : 'OK'}\n`,
    );
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

process.exit(await main());
