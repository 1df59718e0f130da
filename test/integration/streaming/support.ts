/**
 * Shared steps for the streaming integration tests: a real appstreamd plus a loopback package
 * server, terminal applications made from shell scripts, HAL-navigated session look-ups, a
 * headless xterm fed with the stream's binary frames, WebSocket refusals read as AWS error
 * responses, and /proc scans for a session's processes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import xterm from '@xterm/headless';
import WebSocket from 'ws';
import { errorRecords } from '../../helpers/hal-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, rawRequest, readResponse, SignedClient, type RawResponse } from '../../helpers/signed-client.js';
import { activeApplication, attach, servePackage, type StreamAttachment } from '../../helpers/streaming.js';

export { attach, entitle, redeem } from '../../helpers/streaming.js';
export { errorRecords };

/** Generous: a loaded 2-core machine may be slow to start processes. */
export const WAIT_MS = 30_000;

export interface StreamHarness {
  server: TestServer;
  client: SignedClient;
  /** Scratch folder for packages; removed by stop(). */
  work: string;
  /** Makes an Active terminal application whose launchPath runs `script` (a shell script). */
  terminalApp(script: string, body?: Record<string, unknown>): Promise<any>;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startStreamHarness(
  options: { env?: Record<string, string>; now?: () => Date; dataDir?: string } = {},
): Promise<StreamHarness> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'appstreamd-streaming-'));
  let server: TestServer;
  try {
    server = await startServer(
      { APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true', APPSTREAMD_CREATE_APPLICATION_RATE: '1000', APPSTREAMD_ENTITLE_SESSION_RATE: '1000', ...options.env },
      { ...(options.now ? { now: options.now } : {}), ...(options.dataDir ? { dataDir: options.dataDir } : {}) },
    );
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  const client = new SignedClient(server.url, server.credentials);
  const packageServers: { close(): Promise<void> }[] = [];
  let count = 0;
  return {
    server,
    client,
    work,
    async terminalApp(script, body = {}) {
      const dir = path.join(work, `pkg-${++count}`);
      await mkdir(dir);
      const pkg = await servePackage(dir, [{ path: 'bin/run.sh', content: script, mode: 0o755 }]);
      packageServers.push(pkg.server);
      return activeApplication(client, { name: `streaming ${count}`, installerUrl: pkg.url, launchPath: 'bin/run.sh', ...body });
    },
    async stop(opts = {}) {
      try {
        await server.stop(opts);
      } finally {
        for (const p of packageServers) await p.close().catch(() => undefined);
        await rm(work, { recursive: true, force: true });
      }
    },
  };
}

/** The Session resource as it reads now, through its self link. */
export async function fetchSession(client: SignedClient, session: any): Promise<any> {
  const res = await client.get(href(session, 'self'));
  assert.equal(res.status, 200, res.text);
  return res.json;
}

export async function sessionState(client: SignedClient, session: any): Promise<string> {
  const res = await client.get(href(session, 'session:status'));
  assert.equal(res.status, 200, res.text);
  return res.json.state as string;
}

/** The Application resource as it reads now (counters included). */
export async function fetchApplication(client: SignedClient, app: any): Promise<any> {
  const res = await client.get(href(app, 'self'));
  assert.equal(res.status, 200, res.text);
  return res.json;
}

/** Polls until the session has an endDate; returns the session and its state. */
export async function waitForEnd(client: SignedClient, session: any, ms = WAIT_MS): Promise<{ session: any; state: string }> {
  let last: any;
  await waitUntil(async () => {
    last = await fetchSession(client, session);
    return last.endDate !== null;
  }, ms, () => `session ${session.id} to end; last ${JSON.stringify(last)}`);
  return { session: last, state: await sessionState(client, session) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until true; fails with `what` after `ms`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(50);
  }
}

/** Pids whose environment holds APPSTREAM_SESSION_ID=<sessionId> (read from /proc). */
export function pidsOfSession(sessionId: string): number[] {
  const needle = `APPSTREAM_SESSION_ID=${sessionId}`;
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (isZombie(Number(name))) continue;
      const environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (environ.includes(needle)) found.push(Number(name));
    } catch {
      // gone, or not readable
    }
  }
  return found;
}

function isZombie(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** Whether a pid is running (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !isZombie(pid);
  } catch {
    return false;
  }
}

/** A headless xterm fed with the stream's bytes; reads back the screen as text lines. */
export class HeadlessScreen {
  readonly terminal: InstanceType<typeof xterm.Terminal>;
  private pending: Promise<void> = Promise.resolve();

  constructor(cols = 80, rows = 24) {
    this.terminal = new xterm.Terminal({ cols, rows, scrollback: 1000, allowProposedApi: true });
  }

  feed(bytes: Uint8Array): void {
    this.pending = this.pending.then(() => new Promise<void>((resolve) => this.terminal.write(bytes, resolve)));
  }

  /** Every line of the buffer (scrollback included), trailing blanks trimmed. */
  async lines(): Promise<string[]> {
    await this.pending;
    const buffer = this.terminal.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < buffer.length; i++) out.push(buffer.getLine(i)?.translateToString(true) ?? '');
    return out;
  }

  async waitForLine(re: RegExp, ms = WAIT_MS): Promise<string> {
    let lines: string[] = [];
    let hit: string | undefined;
    await waitUntil(async () => {
      lines = await this.lines();
      hit = lines.find((l) => re.test(l));
      return hit !== undefined;
    }, ms, () => `a screen line matching ${re}; screen:\n${lines.filter((l) => l.length > 0).slice(-20).join('\n')}`);
    return hit as string;
  }

  dispose(): void {
    this.terminal.dispose();
  }
}

export interface ScreenStream extends Omit<StreamAttachment, 'waitFor'> {
  screen: HeadlessScreen;
  waitFor(re: RegExp, ms?: number): Promise<void>;
}

/** Attaches with the grant's connect token and feeds every binary frame into a headless xterm. */
export async function attachScreen(grant: { streamUrl: string; connectToken: string }, cols = 80, rows = 24): Promise<ScreenStream> {
  const screen = new HeadlessScreen(cols, rows);
  const stream = await attach(grant, (bytes) => screen.feed(bytes));
  return {
    ...stream,
    screen,
    waitFor: (re, ms = WAIT_MS) => waitUntil(() => re.test(stream.output()), ms, () => `${re} in the output; got ${JSON.stringify(stream.output().slice(-500))}`),
  };
}

/** Opens a WebSocket that is expected to be refused; returns the refusal as a RawResponse. */
export function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error(`upgrade to ${url} was accepted`));
    });
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      readResponse(res).then((response) => {
        ws.terminate();
        resolve(response);
      }, reject);
    });
    ws.once('error', (err) => reject(err));
  });
}

export function streamTarget(grant: { streamUrl: string }, token: string): string {
  return `${grant.streamUrl}?token=${encodeURIComponent(token)}`;
}

/** POST <entitlementUrl>/resume with the resume secret, unsigned as a client sends it. */
export async function resume(entitlementUrl: string, resumeSecret: string): Promise<RawResponse> {
  const url = new URL(entitlementUrl);
  const body = JSON.stringify({ resumeSecret });
  return rawRequest(url.origin, {
    method: 'POST',
    path: `${url.pathname}/resume`,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), accept: 'application/json' },
    body,
  });
}

/** Sends keystrokes as a binary frame. */
export function type(ws: WebSocket, text: string): void {
  ws.send(Buffer.from(text, 'utf8'), { binary: true });
}

/** Closes a socket abruptly (no close handshake), as a dropped network would. */
export async function dropSocket(ws: WebSocket): Promise<void> {
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.terminate();
  await closed;
}

/** Sends SIGKILL to every pid still alive; for cleanup after a failed assertion. */
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
