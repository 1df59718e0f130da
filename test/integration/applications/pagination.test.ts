/**
 * Paging of the Applications collection (§3.2) and of an application's errors (§3.7):
 * 20 items a page, ascending creation order, `next` only when more exist, `first` only after
 * page 1, opaque tokens that cannot be forged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { pollStatus, settled } from '../../helpers/hal-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, type RawResponse, SignedClient } from '../../helpers/signed-client.js';
import { allPages, collectionOf, createOk, fetchOk, itemHrefs, monotonicClock } from './support.js';

const APPS = 45;

/** The same href with its `page` query value replaced. */
function withToken(pageHref: string, token: string): string {
  const url = new URL(pageHref, 'http://placeholder');
  url.searchParams.set('page', token);
  return `${url.pathname}?${url.searchParams.toString()}`;
}

function tokenOf(pageHref: string): string {
  const token = new URL(pageHref, 'http://placeholder').searchParams.get('page');
  assert.ok(token, `no page token in ${pageHref}`);
  return token;
}

/** Variants of a real token: each one byte or one field different. */
function forgeries(token: string): string[] {
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const out = [flip(token, 0), flip(token, token.length - 1), flip(token, Math.floor(token.length / 2)), `${token}x`, token.slice(0, -1)];
  const dot = token.indexOf('.');
  if (dot > 0) {
    // A well-formed payload with a different page number, carrying the original signature.
    const payload = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8');
    const changed = payload.replace(/^\[(\d+)/, (_m, n: string) => `[${Number(n) + 5}`);
    if (changed !== payload) out.push(`${Buffer.from(changed).toString('base64url')}${token.slice(dot)}`);
    out.push(token.slice(dot + 1), token.slice(0, dot));
  }
  return out;
}

const GARBAGE = ['garbage', '2', '0', '-1', 'eyJ9.abc', '.', '', '%00', 'a'.repeat(600)];

function assertPageLinks(pages: any[], basePath: string): void {
  pages.forEach((page, i) => {
    const last = i === pages.length - 1;
    assert.equal('next' in page._links, !last, `next on page ${i + 1} of ${pages.length}`);
    assert.equal('first' in page._links, i > 0, `first on page ${i + 1}`);
    if (i > 0) {
      assert.equal(href(page, 'first'), basePath);
      assert.equal(href(page, 'self'), href(pages[i - 1], 'next'), 'self of a later page is the next link that led there');
    }
  });
  assert.equal(href(pages[0], 'self'), basePath);
  assert.ok(!href(pages[0], 'self').includes('?'), 'self of page 1 has no query');
}

async function assertBadTokens(client: SignedClient, nextHref: string): Promise<void> {
  for (const token of [...forgeries(tokenOf(nextHref)), ...GARBAGE]) {
    const res: RawResponse = await client.get(withToken(nextHref, token));
    assertAwsError(res, 400, 'ValidationException');
  }
}

describe('pagination', () => {
  let server: TestServer;
  let client: SignedClient;
  const created: any[] = [];

  before(async () => {
    server = await startServer({ APPSTREAMD_CREATE_APPLICATION_RATE: '1000' }, { now: monotonicClock() });
    client = new SignedClient(server.url, server.credentials);
    // Unreachable by policy: each build fails at once, without network.
    for (let i = 0; i < APPS; i++) {
      created.push(await createOk(client, { name: `app ${i}`, installerUrl: 'http://127.0.0.1:1/a.tgz', installerParameters: '', launchPath: 'a' }));
    }
  });

  after(async () => {
    await server?.stop();
  });

  test('following next visits every application once, in creation order, 20/20/5', async () => {
    const first = await collectionOf(client);
    const pages = await allPages(client, first);
    assert.deepEqual(pages.map((p) => itemHrefs(p).length), [20, 20, 5]);
    const visited = pages.flatMap(itemHrefs);
    assert.deepEqual(visited, created.map((a) => href(a, 'self')));
    assert.equal(new Set(visited).size, APPS);
    assertPageLinks(pages, href(first, 'self'));
    for (const page of pages) {
      assert.equal(href(page, 'application:create'), href(first, 'application:create'));
      assert.deepEqual(page._links['application:by-id'], first._links['application:by-id']);
      assert.equal(page._links['application:by-id'].templated, true);
    }
    const dates = await Promise.all(visited.map(async (h) => (await fetchOk(client, h)).createdDate as string));
    assert.deepEqual(dates, [...dates].sort(), 'ascending createdDate');
  });

  test('first leads back to page 1; self of a later page is stable', async () => {
    const pages = await allPages(client, await collectionOf(client));
    const back = await fetchOk(client, href(pages[2], 'first'));
    assert.deepEqual(back, pages[0]);
    assert.deepEqual(await fetchOk(client, href(pages[1], 'self')), pages[1]);
  });

  test('pages reflect deletions and appends without repeating or skipping', async () => {
    const before = await allPages(client, await collectionOf(client));
    const fresh = await createOk(client, { name: 'late', installerUrl: 'http://127.0.0.1:1/a.tgz', installerParameters: '', launchPath: 'a' });
    await pollStatus(client, fresh, settled);
    // The old page-2 link still starts right after page 1's last item.
    const page2 = await fetchOk(client, href(before[0], 'next'));
    assert.deepEqual(itemHrefs(page2), itemHrefs(before[1]));
    const after = await allPages(client, await collectionOf(client));
    assert.deepEqual(after.flatMap(itemHrefs), [...before.flatMap(itemHrefs), href(fresh, 'self')]);
    const del = await client.send({ method: 'DELETE', path: href(fresh, 'application:delete') });
    assert.equal(del.status, 200, del.text);
  });

  test('forged or garbage page tokens → 400 ValidationException', async () => {
    const first = await collectionOf(client);
    await assertBadTokens(client, href(first, 'next'));
  });

  test('a token of another collection or another account is not accepted', async () => {
    const first = await collectionOf(client);
    const other = await server.app.accounts.createAccountWithKey('other');
    const otherClient = new SignedClient(server.url, other);
    // The other account has no applications: a foreign token must not reveal anything.
    const res = await otherClient.get(href(first, 'next'));
    if (res.status === 200) assert.deepEqual(res.json._links.item, []);
    else assertAwsError(res, 400, 'ValidationException');
  });

  describe('errors collection', () => {
    const ERRORS = 25;
    let app: any;
    let ordered: string[];

    before(async () => {
      app = await createOk(client, { name: 'many errors', installerUrl: 'http://127.0.0.1:1/a.tgz', installerParameters: '', launchPath: 'a' });
      await pollStatus(client, app, settled); // its build adds the first record
      const firstRecord = (await fetchOk(client, href(app, 'application:errors')))._links.item as { href: string }[];
      assert.equal(firstRecord.length, 1);
      ordered = [firstRecord[0]!.href];
      for (let i = 1; i < ERRORS; i++) {
        const row = await server.app.applications.insertError(server.app.store.db, app.id, server.credentials.accountId, {
          type: 'Session',
          errorCode: 'SessionFailed',
          cause: `Session failure ${i}.`,
          solution: 'Try again.',
        });
        ordered.push(`${href(app, 'application:errors')}/${row.id}`);
      }
    });

    test('following next visits every error once, in errorDate order, 20/5, with first/next rules', async () => {
      const first = await fetchOk(client, href(app, 'application:errors'));
      assert.equal(href(first, 'up'), href(app, 'self'));
      const pages = await allPages(client, first);
      assert.deepEqual(pages.map((p) => itemHrefs(p).length), [20, 5]);
      assertPageLinks(pages, href(app, 'application:errors'));
      const visited = pages.flatMap(itemHrefs);
      assert.deepEqual(visited, ordered);
      for (const page of pages) assert.equal(href(page, 'up'), href(app, 'self'));
      const records = await Promise.all(visited.map((h) => fetchOk(client, h)));
      assert.deepEqual(records.map((r) => r.errorDate), records.map((r) => r.errorDate).sort());
      assert.equal(records[1].message, 'Session failure 1. Try again.');
    });

    test('forged or garbage page tokens → 400 ValidationException', async () => {
      const first = await fetchOk(client, href(app, 'application:errors'));
      await assertBadTokens(client, href(first, 'next'));
    });
  });
});
