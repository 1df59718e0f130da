/**
 * Counters under concurrency: 100 entitle and terminate calls at once (rate and capacity
 * raised). activeSessions/availableSessions and the sessions collection must agree exactly
 * with what the responses said.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { href } from '../../helpers/signed-client.js';
import { allItems, createActiveApplication, entitle, entitleOk, redeem, refreshApplication, sessionState, startHarness, terminate, type Harness } from './support.js';

const CAPACITY = 1000;

describe('session counters under concurrent entitle/terminate', () => {
  let h: Harness;
  let application: any;

  before(async () => {
    h = await startHarness({ env: { APPSTREAMD_ENTITLE_SESSION_RATE: '100000', APPSTREAMD_SESSION_CAPACITY: String(CAPACITY) } });
    application = await createActiveApplication(h.client, h.packageUrl);
  });

  after(async () => {
    await h.stop();
  });

  test('60 entitles and 40 terminates at once leave counters and listing exact', async () => {
    // 50 earlier sessions, 10 of them redeemed (Reserved, so active).
    const earlier = await Promise.all(Array.from({ length: 50 }, () => entitleOk(h.client, application)));
    const redeemed = earlier.slice(0, 10);
    for (const s of redeemed) assert.equal((await redeem(s.entitlementUrl)).status, 200);
    let app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, 10);
    assert.equal(app.availableSessions, CAPACITY - 50);

    // Terminate 5 redeemed and 35 entitled ones while 60 new entitles run.
    const toEnd = [...redeemed.slice(0, 5), ...earlier.slice(10, 45)];
    const calls: Promise<{ kind: 'entitle' | 'terminate'; status: number; body: any }>[] = [];
    for (let i = 0; i < 100; i++) {
      // Interleave the two kinds so they really overlap.
      if (i % 5 < 3 || toEnd.length === 0) calls.push(entitle(h.client, application, {}).then((r) => ({ kind: 'entitle', status: r.status, body: r.json })));
      else {
        const s = toEnd.shift()!;
        calls.push(terminate(h.client, s).then((r) => ({ kind: 'terminate', status: r.status, body: r.json })));
      }
    }
    const results = await Promise.all(calls);
    const entitled = results.filter((r) => r.kind === 'entitle');
    const ended = results.filter((r) => r.kind === 'terminate');
    assert.equal(entitled.length, 60);
    assert.equal(ended.length, 40);
    for (const r of entitled) assert.equal(r.status, 201, JSON.stringify(r.body));
    for (const r of ended) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.state, 'Terminated');
    }
    const newIds = new Set(entitled.map((r) => r.body.id as string));
    assert.equal(newIds.size, 60, 'every entitle made a distinct session');

    // live = 50 + 60 - 40; active = 10 - 5.
    app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, 5);
    assert.equal(app.availableSessions, CAPACITY - 70);

    const { items, pages } = await allItems(h.client, href(application, 'application:sessions'));
    assert.equal(items.length, 110);
    assert.equal(new Set(items).size, 110, 'no session listed twice');
    assert.equal(pages.length, 6);
    const expected = new Set([...earlier.map((s) => href(s, 'self')), ...entitled.map((r) => href(r.body, 'self'))]);
    assert.deepEqual(new Set(items), expected);

    const states = new Map<string, number>();
    const statusOf = await Promise.all(items.map((item) => sessionState(h.client, { _links: { 'session:status': { href: `${item}/status` } } })));
    for (const s of statusOf) states.set(s, (states.get(s) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(states), { Reserved: 5, Entitled: 65, Terminated: 40 });
  });

  test('racing terminates of one session: all 200 Terminated, endDate set once', async () => {
    const before = await refreshApplication(h.client, application);
    const session = await entitleOk(h.client, application);
    assert.equal((await redeem(session.entitlementUrl)).status, 200);
    const results = await Promise.all(Array.from({ length: 20 }, () => terminate(h.client, session)));
    for (const r of results) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.state, 'Terminated');
    }
    const app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, before.activeSessions);
    assert.equal(app.availableSessions, before.availableSessions);
    const row = await h.server.app.sessions.getInternal(session.id);
    assert.equal(row?.end_reason, 'TERMINATED_BY_API');
    assert.ok(row?.end_date);
  });
});
