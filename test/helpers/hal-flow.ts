/** HAL navigation shortcuts used by the integration tests: everything starts from GET /. */
import assert from 'node:assert/strict';
import { href, type RawResponse, type SignedClient } from './signed-client.js';

export async function applicationsCollection(client: SignedClient): Promise<any> {
  const root = await client.get('/');
  assert.equal(root.status, 200, root.text);
  const list = await client.get(href(root.json, 'appstream:applications'));
  assert.equal(list.status, 200, list.text);
  return list.json;
}

export async function createApplication(client: SignedClient, body: Record<string, unknown>): Promise<RawResponse> {
  const collection = await applicationsCollection(client);
  return client.postJson(href(collection, 'application:create'), body);
}

export async function getApplicationById(client: SignedClient, id: string): Promise<RawResponse> {
  const collection = await applicationsCollection(client);
  return client.get(href(collection, 'application:by-id', { application_id: id }));
}

/** Polls application:status until `until(state)` or the timeout; returns every status seen. */
export async function pollStatus(
  client: SignedClient,
  application: any,
  until: (status: any) => boolean,
  timeoutMs = 30_000,
): Promise<{ final: any; seen: any[] }> {
  const statusHref = href(application, 'application:status');
  const seen: any[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(statusHref);
    assert.equal(res.status, 200, res.text);
    seen.push(res.json);
    if (until(res.json)) return { final: res.json, seen };
    if (Date.now() > deadline) throw new Error(`status did not settle: last ${JSON.stringify(res.json)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const settled = (s: any) => s.state !== 'New' && s.state !== 'Building';

/** The application's error records, fetched through application:errors → item. */
export async function errorRecords(client: SignedClient, application: any): Promise<any[]> {
  const list = await client.get(href(application, 'application:errors'));
  assert.equal(list.status, 200, list.text);
  const out = [];
  for (const item of list.json._links.item as { href: string }[]) {
    const res = await client.get(item.href);
    assert.equal(res.status, 200, res.text);
    out.push(res.json);
  }
  return out;
}
