/**
 * The sessions collection (§3.10): pages of 20 in creation order, `next` only while more
 * exist, `first` only on later pages, `up` to the application, `session:by-id` templated.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { href } from '../../helpers/signed-client.js';
import { allItems, createActiveApplication, entitleOk, fetchResource, startHarness, type Harness } from './support.js';

describe('sessions collection pagination', () => {
  let h: Harness;
  let application: any;
  let exactlyTwenty: any;
  const created: string[] = [];

  before(async () => {
    h = await startHarness({ env: { APPSTREAMD_ENTITLE_SESSION_RATE: '1000', APPSTREAMD_SESSION_CAPACITY: '100' } });
    [application, exactlyTwenty] = await Promise.all([
      createActiveApplication(h.client, h.packageUrl, 'twenty-five'),
      createActiveApplication(h.client, h.packageUrl, 'twenty'),
    ]);
    // One at a time and a few ms apart, so creation times differ and the order is well defined.
    for (let i = 0; i < 25; i++) {
      created.push(href(await entitleOk(h.client, application, { opaqueData: `n${i}` }), 'self'));
      await new Promise((r) => setTimeout(r, 3));
    }
    for (let i = 0; i < 20; i++) await entitleOk(h.client, exactlyTwenty);
  });

  after(async () => {
    await h.stop();
  });

  test('an empty collection has an empty item array and no next/first', async () => {
    const empty = await createActiveApplication(h.client, h.packageUrl, 'empty');
    const page = await fetchResource(h.client, href(empty, 'application:sessions'));
    assert.deepEqual(page._links.item, []);
    assert.equal(page._links.next, undefined);
    assert.equal(page._links.first, undefined);
  });

  test('25 sessions → pages of 20 and 5, in creation order, with next/first/up/self/by-id', async () => {
    const collectionHref = href(application, 'application:sessions');
    const first = await fetchResource(h.client, collectionHref);
    assert.equal(href(first, 'self'), collectionHref);
    assert.equal(href(first, 'up'), href(application, 'self'));
    assert.equal(first._links['session:by-id'].templated, true);
    assert.ok(first._links['session:by-id'].href.includes('{session_id}'));
    assert.equal(first._links.first, undefined, 'no first link on the first page');
    assert.equal(first._links.item.length, 20);
    assert.equal(typeof first._links.next?.href, 'string');
    for (const key of Object.keys(first)) assert.ok(key === '_links', `no properties on the collection (got ${key})`);
    assert.equal(first._embedded, undefined);

    const second = await fetchResource(h.client, href(first, 'next'));
    assert.equal(second._links.item.length, 5);
    assert.equal(second._links.next, undefined, 'no next link on the last page');
    assert.equal(href(second, 'first'), collectionHref);
    assert.equal(href(second, 'self'), href(first, 'next'));
    assert.equal(href(second, 'up'), href(application, 'self'));
    assert.equal(second._links['session:by-id'].templated, true);

    const listed = [...first._links.item, ...second._links.item].map((l: { href: string }) => l.href);
    assert.equal(new Set(listed).size, 25, 'no duplicates across pages');
    assert.deepEqual([...listed].sort(), [...created].sort(), 'exactly the sessions created');

    // Creation order: each listed session's opaqueData says when it was created.
    const order = [];
    for (const item of listed) order.push(Number((await fetchResource(h.client, item)).opaqueData.slice(1)));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'ascending creation order');

    // by-id from the collection template reaches the same resource as the item link.
    const someId = (await fetchResource(h.client, listed[7]!)).id;
    const byId = await fetchResource(h.client, href(first, 'session:by-id', { session_id: someId }));
    assert.equal(href(byId, 'self'), listed[7]);
  });

  test('exactly 20 sessions → one page without next', async () => {
    const { pages, items } = await allItems(h.client, href(exactlyTwenty, 'application:sessions'));
    assert.equal(pages.length, 1);
    assert.equal(items.length, 20);
    assert.equal(pages[0]._links.next, undefined);
  });

  test('a tampered page token → 400 ValidationException; an unknown session id → 404', async () => {
    const first = await fetchResource(h.client, href(application, 'application:sessions'));
    const next = href(first, 'next');
    const tampered = next.replace(/page=([^&]*)/, (_m, token: string) => `page=${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`);
    assertAwsError(await h.client.get(tampered), 400, 'ValidationException');
    assertAwsError(await h.client.get(href(first, 'session:by-id', { session_id: '00000000-0000-4000-8000-000000000000' })), 404, 'ResourceNotFoundException');
    assertAwsError(await h.client.get(href(first, 'session:by-id', { session_id: 'not-a-uuid' })), 404, 'ResourceNotFoundException');
  });
});
