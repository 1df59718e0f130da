/**
 * Shared pieces of the applications integration tests: a strictly increasing clock (so
 * creation order and "lastUpdatedDate bumped" are observable without sleeping), HAL
 * navigation shortcuts that start from GET /, and a package route held behind a gate.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { href, type RawResponse, type SignedClient } from '../../helpers/signed-client.js';
import type { Route } from '../../helpers/packages.js';

/** A clock that never returns the same millisecond twice (ties would make order depend on random ids). */
export function monotonicClock(): () => Date {
  let last = 0;
  return () => {
    last = Math.max(Date.now(), last + 1);
    return new Date(last);
  };
}

/** GET on an href that must answer 200; returns the body. */
export async function fetchOk(client: SignedClient, target: string): Promise<any> {
  const res = await client.get(target);
  assert.equal(res.status, 200, `GET ${target}: ${res.status} ${res.text}`);
  return res.json;
}

export async function rootOf(client: SignedClient): Promise<any> {
  return fetchOk(client, '/');
}

/** The first page of the caller's Applications collection, reached from the root. */
export async function collectionOf(client: SignedClient): Promise<any> {
  return fetchOk(client, href(await rootOf(client), 'appstream:applications'));
}

/** Creates through application:create and asserts 201; returns the Application. */
export async function createOk(client: SignedClient, body: Record<string, unknown>): Promise<any> {
  const res = await client.postJson(href(await collectionOf(client), 'application:create'), body);
  assert.equal(res.status, 201, `create: ${res.status} ${res.text}`);
  return res.json;
}

/** Follows `next` from a first page until it is absent; returns every page in order. */
export async function allPages(client: SignedClient, firstPage: any): Promise<any[]> {
  const pages = [firstPage];
  while (pages.at(-1)._links.next) pages.push(await fetchOk(client, href(pages.at(-1), 'next')));
  return pages;
}

export function itemHrefs(page: any): string[] {
  const items = page._links.item;
  assert.ok(Array.isArray(items), `item must be an array: ${JSON.stringify(page._links)}`);
  return items.map((l: { href: string }) => l.href);
}

export function putState(client: SignedClient, application: any, rel: 'application:archive' | 'application:reactivate', state: unknown): Promise<RawResponse> {
  return client.putJson(href(application, rel), { state });
}

export function deleteApplication(client: SignedClient, application: any): Promise<RawResponse> {
  return client.send({ method: 'DELETE', path: href(application, 'application:delete') });
}

/** A route that holds every request until `open()`; afterwards it answers at once. */
export interface Gate {
  route: Route;
  /** How many requests have arrived (held or served). */
  arrived(): number;
  open(): void;
}

export function gatedRoute(serve: Route): Gate {
  let isOpen = false;
  let count = 0;
  const held: [http.IncomingMessage, http.ServerResponse][] = [];
  return {
    route(req, res) {
      count += 1;
      if (isOpen) serve(req, res);
      else held.push([req, res]);
    },
    arrived: () => count,
    open() {
      isOpen = true;
      for (const [req, res] of held.splice(0)) if (!res.destroyed) serve(req, res);
    },
  };
}

/** Counts every request reaching a listener on `host` (used for [::1], which the package helper does not bind). */
export async function countingListener(host: string): Promise<{ port: number; requests(): number; close(): Promise<void> }> {
  let count = 0;
  const server = http.createServer((_req, res) => {
    count += 1;
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
