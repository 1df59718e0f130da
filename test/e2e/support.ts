/**
 * Shared setup for the browser tests: a real appstreamd with an Active application built
 * from a small script package, a headless Debian Chromium driven by playwright-core, and
 * small polling helpers. Without /usr/bin/chromium the tests skip, except under CI.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.js';
import { href, SignedClient, type RawResponse } from '../helpers/signed-client.js';
import { activeApplication, entitle, servePackage } from '../helpers/streaming.js';
import { makeTempDir, removeDir, type TestServer as PackageServer } from '../helpers/packages.js';
import type { PageGlobals } from './page-globals.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A reason to skip the browser tests, or undefined when they can run (CI never skips). */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  if (process.env['CI']) throw new Error(`${CHROMIUM_PATH} is missing (install the Debian package chromium)`);
  return `${CHROMIUM_PATH} is missing: browser tests skipped (install the Debian package chromium)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** test-results/ at the repository root (git-ignored); created on demand. */
export function resultsPath(file: string): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = path.join(root, 'test-results');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, file);
}

export interface E2eHarness {
  server: TestServer;
  client: SignedClient;
  application: any;
  /** Entitles a new session; returns the Session resource (entitlementUrl, links). */
  entitle(body?: Record<string, unknown>): Promise<any>;
  terminate(session: any): Promise<RawResponse>;
  /** The session's live home folder on the host (readable by root while the session runs). */
  sessionHome(sessionId: string): string;
  stop(): Promise<void>;
}

export interface E2eOptions {
  /** The program, installed as bin/run.sh. */
  script: string;
  streamProtocol?: 'terminal' | 'x11';
  env?: Record<string, string>;
  now?: () => Date;
}

export async function startE2e(options: E2eOptions): Promise<E2eHarness> {
  const work = await makeTempDir('appstreamd-e2e-');
  let packages: PackageServer | undefined;
  let server: TestServer | undefined;
  try {
    const served = await servePackage(work, [{ path: 'bin/run.sh', content: options.script, mode: 0o755 }]);
    packages = served.server;
    server = await startServer(
      {
        APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
        APPSTREAMD_CREATE_APPLICATION_RATE: '1000',
        APPSTREAMD_ENTITLE_SESSION_RATE: '1000',
        ...options.env,
      },
      options.now ? { now: options.now } : {},
    );
    const client = new SignedClient(server.url, server.credentials);
    const application = await activeApplication(client, {
      name: 'browser app',
      installerUrl: served.url,
      launchPath: 'bin/run.sh',
      ...(options.streamProtocol ? { streamProtocol: options.streamProtocol } : {}),
    });
    const owned = { server, packages };
    return {
      server,
      client,
      application,
      entitle: (body = { expirationDuration: 5 }) => entitle(client, application, body),
      terminate: (session) => client.putJson(href(session, 'session:terminate'), { state: 'Terminated' }),
      sessionHome: (sessionId) => path.join(owned.server.dataDir, 'sessions', sessionId, 'home'),
      async stop() {
        await owned.server.stop();
        await owned.packages.close();
        await removeDir(work);
      },
    };
  } catch (error) {
    await server?.stop();
    await packages?.close();
    await removeDir(work);
    throw error;
  }
}

/** Polls `probe` until it returns a truthy value; the error names `what` and the last value seen. */
export async function eventually<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The page's viewer state: document.body.dataset.state. */
export function viewerState(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).document.body.dataset['state']);
}

/** Waits for the viewer state; on timeout the error tells the state and message the page shows. */
export async function waitForState(page: Page, state: string, timeoutMs = 20_000): Promise<void> {
  try {
    await page.waitForFunction((s) => (globalThis as unknown as PageGlobals).document.body.dataset['state'] === s, state, { timeout: timeoutMs });
  } catch (error) {
    const shown = await page
      .evaluate(() => {
        const doc = (globalThis as unknown as PageGlobals).document;
        return { state: doc.body.dataset['state'], banner: doc.getElementById('banner')?.innerText, notice: doc.getElementById('notice')?.innerText };
      })
      .catch(() => null);
    throw new Error(`viewer state ${state} not reached; the page shows ${JSON.stringify(shown)}`, { cause: error });
  }
}

/** Text of the terminal's active buffer (window.appstreamTerminal), one line per row. */
export function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const term = (globalThis as unknown as PageGlobals).appstreamTerminal;
    if (!term) return '';
    const buf = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}

/** The text of the viewer's centred notice (ended, expired, invalid link, ...). */
export function noticeText(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).document.getElementById('notice')?.innerText ?? '');
}

/** How many times the page attached to its session's stream (body.dataset.connections). */
export function connections(page: Page): Promise<number> {
  return page.evaluate(() => Number((globalThis as unknown as PageGlobals).document.body.dataset['connections'] ?? 0));
}

/** Drops the page's stream WebSocket from the page's side, as a network drop would. */
export async function dropSocket(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as PageGlobals).appstreamSocket?.close());
}

/** Waits until the page has attached `count` times in all and shows the program again. */
export async function waitForConnections(page: Page, count: number, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const body = (globalThis as unknown as PageGlobals).document.body;
      return body.dataset['connections'] === String(n) && body.dataset['state'] === 'running';
    },
    count,
    { timeout: timeoutMs },
  );
}
