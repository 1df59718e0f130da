/** Shared steps for streaming tests: an Active app from a script, entitle, redeem, attach. */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createApplication, pollStatus, settled } from './hal-flow.js';
import { href, rawRequest, type SignedClient } from './signed-client.js';
import { makeTarGz, serveBytes, startServer as startPackageServer, type TestServer as PackageServer } from './packages.js';

export async function servePackage(work: string, files: { path: string; content: string; mode?: number }[]): Promise<{ server: PackageServer; url: string }> {
  const tgz = await makeTarGz(work, files);
  const server = await startPackageServer({ '/pkg.tgz': serveBytes(tgz) });
  return { server, url: `${server.origin}/pkg.tgz` };
}

export async function activeApplication(client: SignedClient, body: Record<string, unknown>): Promise<any> {
  const res = await createApplication(client, { name: 'streamed', installerParameters: '', ...body });
  assert.equal(res.status, 201, res.text);
  const { final } = await pollStatus(client, res.json, settled);
  assert.equal(final.state, 'Active', JSON.stringify(final));
  return (await client.get(href(res.json, 'self'))).json;
}

export async function entitle(client: SignedClient, app: any, body: Record<string, unknown> = {}): Promise<any> {
  const res = await client.postJson(href(app, 'session:entitle'), body);
  assert.equal(res.status, 201, res.text);
  return res.json;
}

export async function redeem(entitlementUrl: string): Promise<any> {
  const url = new URL(entitlementUrl);
  const res = await rawRequest(url.origin, { method: 'POST', path: url.pathname, headers: { 'content-length': '0' } });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

export interface StreamAttachment {
  ws: WebSocket;
  /** Every binary frame so far, as UTF-8 text. */
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** The close code. */
  closed: Promise<number>;
}

/**
 * Opens the stream WebSocket and collects every binary frame (each also handed to `onFrame`).
 * The listener is in place before the upgrade completes: replayed output may arrive in the
 * same packet as the 101 answer.
 */
export async function attach(grant: { streamUrl: string; connectToken: string }, onFrame?: (bytes: Buffer) => void): Promise<StreamAttachment> {
  const ws = new WebSocket(`${grant.streamUrl}?token=${encodeURIComponent(grant.connectToken)}`);
  const chunks: Buffer[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    const bytes = Buffer.from(data);
    chunks.push(bytes);
    onFrame?.(bytes);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const output = () => Buffer.concat(chunks).toString('utf8');
  return {
    ws,
    output,
    closed,
    async waitFor(re, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!re.test(output())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; got ${JSON.stringify(output().slice(-500))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return output();
    },
  };
}
