/**
 * Shared pieces of the foundation integration tests: HAL navigation to the create link,
 * a valid application body, requests signed by @smithy/signature-v4 that a test can alter
 * before sending, and raw-socket HTTP for requests node:http refuses to send.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, rawRequest, SignedClient, toRawResponse, type PreparedRequest, type RawResponse } from '../../helpers/signed-client.js';

export { signRequest, type PreparedRequest, type SignOptions } from '../../helpers/signed-client.js';

/** An installer URL nobody listens on: the background build fails, which these tests ignore. */
export const CLOSED_INSTALLER_URL = 'http://127.0.0.1:9/app.tar.gz';

export function validApplicationBody(name = 'foundation-test'): Record<string, string> {
  return { name, installerUrl: CLOSED_INSTALLER_URL, installerParameters: '', launchPath: 'bin/app' };
}

/** GET / → appstream:applications → application:create, never assuming a path but `/`. */
export async function findCreateApplicationHref(client: SignedClient): Promise<string> {
  const root = await client.get('/');
  assert.equal(root.status, 200, root.text);
  const collection = await client.get(href(root.json, 'appstream:applications'));
  assert.equal(collection.status, 200, collection.text);
  return href(collection.json, 'application:create');
}

/**
 * The server most foundation tests share: a generous create budget (these files are about
 * signatures and framing, not throttling; the rate-limit tests start their own), a client
 * signed by smithy, and the create link found by HAL navigation.
 */
export async function startFoundationServer(): Promise<{ server: TestServer; client: SignedClient; createHref: string }> {
  const server = await startServer({ APPSTREAMD_CREATE_APPLICATION_RATE: '1000', APPSTREAMD_LOG_LEVEL: 'warn' });
  const client = new SignedClient(server.url, server.credentials);
  return { server, client, createHref: await findCreateApplicationHref(client) };
}

export async function findApplicationsHref(client: SignedClient): Promise<string> {
  const root = await client.get('/');
  assert.equal(root.status, 200, root.text);
  return href(root.json, 'appstream:applications');
}

export function sendPrepared(baseUrl: string, req: PreparedRequest): Promise<RawResponse> {
  return rawRequest(baseUrl, { method: req.method, path: req.path, headers: req.headers, body: req.body });
}

/** Replaces one header (case-insensitively); `undefined` removes it. */
export function withHeader(req: PreparedRequest, name: string, value: string | undefined): PreparedRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.toLowerCase() !== name.toLowerCase()) headers[k] = v;
  if (value !== undefined) headers[name] = value;
  return { ...req, headers };
}

function parseRawResponse(buf: Buffer): { response: RawResponse; complete: boolean } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? NaN);
  const body = buf.subarray(end + 4);
  const complete = Number.isFinite(length) && body.length >= length;
  const bytes = Number.isFinite(length) ? body.subarray(0, length) : body;
  return { response: toRawResponse(status, headers, bytes.toString('utf8')), complete };
}

/**
 * Writes `head` (and `body`) on a fresh TCP connection and reads one response: until its
 * Content-Length is satisfied or the server closes. For bytes node:http would not send.
 */
export function rawSocketRequest(baseUrl: string, head: string, body?: Buffer | string, timeoutMs = 5000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const parsed = parseRawResponse(buf);
      if (parsed) resolve(parsed.response);
      else reject(err ?? new Error(`no HTTP response; got ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`));
    };
    const timer = setTimeout(() => finish(new Error('timed out waiting for a response')), timeoutMs);
    socket.on('connect', () => {
      socket.write(head);
      if (body !== undefined) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (parseRawResponse(buf)?.complete) finish();
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err) => finish(err));
  });
}

/** The server still answers a signed GET / with 200 (after abuse, nothing crashed). */
export async function assertStillServing(client: SignedClient): Promise<void> {
  const res = await client.get('/');
  assert.equal(res.status, 200, `server stopped answering: ${res.status} ${res.text}`);
}
