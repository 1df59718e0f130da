/**
 * Shared setup for the sessions integration tests: a real appstreamd, a loopback package
 * server with a small runnable package, Active applications reached by HAL navigation,
 * and the few session steps (entitle, redeem, terminate) every test file needs.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { startServer, type TestServer } from '../../helpers/server.js';
import { createApplication, pollStatus, settled } from '../../helpers/hal-flow.js';
import { href, rawRequest, SignedClient, type RawResponse } from '../../helpers/signed-client.js';
import {
  makeTarGz,
  makeTempDir,
  removeDir,
  serveBytes,
  startServer as startPackageServer,
  type Route,
  type TestServer as PackageServer,
} from '../../helpers/packages.js';

/**
 * A terminal program that waits for a line of input, so a redeemed session's program (once a
 * supervisor launches it) stays up until it is terminated or its terminal closes.
 */
const SCRIPT = '#!/bin/sh\necho ready\nread line\necho "got $line"\n';

export const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export interface Harness {
  server: TestServer;
  client: SignedClient;
  packages: PackageServer;
  /** `${packages.origin}/app.tar.gz`: a package that installs and provisions quickly. */
  packageUrl: string;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  now?: () => Date;
  /** Extra package-server routes (e.g. a slow one to hold an application in Building). */
  routes?: Record<string, Route>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const work = await makeTempDir('appstreamd-sessions-');
  const tgz = await makeTarGz(work, [{ path: 'bin/run.sh', content: SCRIPT, mode: 0o755 }]);
  const packages = await startPackageServer({ '/app.tar.gz': serveBytes(tgz), ...options.routes });
  const server = await startServer(
    {
      APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
      APPSTREAMD_CREATE_APPLICATION_RATE: '1000',
      ...options.env,
    },
    options.now ? { now: options.now } : {},
  );
  return {
    server,
    client: new SignedClient(server.url, server.credentials),
    packages,
    packageUrl: `${packages.origin}/app.tar.gz`,
    async stop() {
      await server.stop();
      await packages.close();
      await removeDir(work);
    },
  };
}

/** Creates an application by HAL navigation and polls it to Active; returns the Application resource. */
export async function createActiveApplication(client: SignedClient, packageUrl: string, name = 'session app'): Promise<any> {
  const created = await createApplication(client, { name, installerUrl: packageUrl, installerParameters: '', launchPath: 'bin/run.sh' });
  assert.equal(created.status, 201, created.text);
  const { final } = await pollStatus(client, created.json, settled);
  assert.equal(final.state, 'Active', JSON.stringify(final));
  return fetchResource(client, href(created.json, 'self'));
}

export async function fetchResource(client: SignedClient, path: string): Promise<any> {
  const res = await client.get(path);
  assert.equal(res.status, 200, `GET ${path}: ${res.text}`);
  return res.json;
}

/** The application as it reads now (counters included). */
export async function refreshApplication(client: SignedClient, application: any): Promise<any> {
  return fetchResource(client, href(application, 'self'));
}

/** POST session:entitle; `body` undefined sends no body at all. */
export function entitle(client: SignedClient, application: any, body?: unknown): Promise<RawResponse> {
  const target = href(application, 'session:entitle');
  if (body === undefined) return client.send({ method: 'POST', path: target });
  return client.postJson(target, body);
}

/** Entitles and asserts 201; returns the Session resource. */
export async function entitleOk(client: SignedClient, application: any, body: unknown = { expirationDuration: 60 }): Promise<any> {
  const res = await entitle(client, application, body);
  assert.equal(res.status, 201, res.text);
  return res.json;
}

export function terminate(client: SignedClient, session: any, state: unknown = 'Terminated'): Promise<RawResponse> {
  return client.putJson(href(session, 'session:terminate'), { state });
}

export async function sessionState(client: SignedClient, session: any): Promise<string> {
  const status = await fetchResource(client, href(session, 'session:status'));
  return status.state as string;
}

/** A request on an (absolute) entitlement URL, unsigned, as an end-user client sends it. */
export function onEntitlementUrl(
  entitlementUrl: string,
  method: 'GET' | 'POST',
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const url = new URL(entitlementUrl);
  const all: Record<string, string> = { ...headers };
  if (method === 'POST') all['content-length'] = '0';
  return rawRequest(url.origin, { method, path: url.pathname, headers: all });
}

export const redeem = (entitlementUrl: string): Promise<RawResponse> => onEntitlementUrl(entitlementUrl, 'POST', { accept: 'application/json' });

/** Every item href of a paged collection, following `next` from `firstHref`; also returns each page. */
export async function allItems(client: SignedClient, firstHref: string): Promise<{ items: string[]; pages: any[] }> {
  const items: string[] = [];
  const pages: any[] = [];
  let next: string | undefined = firstHref;
  while (next) {
    const page = await fetchResource(client, next);
    pages.push(page);
    assert.ok(Array.isArray(page._links.item), 'item is an array');
    items.push(...(page._links.item as { href: string }[]).map((l) => l.href));
    next = page._links.next?.href;
    assert.ok(pages.length < 1000, 'pagination terminates');
  }
  return { items, pages };
}

/** Holds every response of a route until `release()` (or the socket closes), to keep a build in Copying. */
export function heldRoute(): { route: Route; release(): void } {
  const waiting: http.ServerResponse[] = [];
  let released = false;
  return {
    route: (_req, res) => {
      if (released) {
        res.statusCode = 404;
        res.end();
      } else waiting.push(res);
    },
    release() {
      released = true;
      for (const res of waiting.splice(0)) {
        res.statusCode = 404;
        res.end();
      }
    },
  };
}
