/**
 * Entitlement expiry with the server's injectable clock: once `expirationDuration` minutes
 * have passed, the URL answers 410 and the session reads Terminated with endDate = the
 * expiry time, whichever read comes first (session, application, collection, redemption).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { href } from '../../helpers/signed-client.js';
import {
  allItems,
  createActiveApplication,
  entitleOk,
  fetchResource,
  onEntitlementUrl,
  redeem,
  refreshApplication,
  sessionState,
  startHarness,
  terminate,
  type Harness,
} from './support.js';

describe('entitlement expiry', () => {
  let h: Harness;
  let application: any;
  /** Added to the real time on the server's clock; requests stay well inside the 15-minute signing skew. */
  let offsetMs = 0;

  before(async () => {
    h = await startHarness({ env: { APPSTREAMD_ENTITLE_SESSION_RATE: '1000' }, now: () => new Date(Date.now() + offsetMs) });
    application = await createActiveApplication(h.client, h.packageUrl);
  });

  after(async () => {
    await h.stop();
  });

  async function expiresAt(session: any): Promise<string> {
    const info = await onEntitlementUrl(session.entitlementUrl, 'GET', { accept: 'application/json' });
    assert.equal(info.status, 200, info.text);
    assert.equal(info.json.state, 'Entitled');
    return info.json.expiresAt as string;
  }

  test('past expirationDuration: lazy reads show Terminated with endDate = expiry; redemption → 410', async () => {
    const fresh = await refreshApplication(h.client, application);
    const readFirst = await entitleOk(h.client, application, { expirationDuration: 1 });
    const redeemFirst = await entitleOk(h.client, application, { expirationDuration: 1 });
    const longer = await entitleOk(h.client, application, { expirationDuration: 5 });
    const expiries = { readFirst: await expiresAt(readFirst), redeemFirst: await expiresAt(redeemFirst), longer: await expiresAt(longer) };
    const serverNow = Date.now() + offsetMs;
    const lifetime = Date.parse(expiries.readFirst) - serverNow;
    assert.ok(lifetime > 30_000 && lifetime <= 60_000, `one minute from entitlement (${lifetime} ms left)`);
    assert.ok(Date.parse(expiries.longer) - serverNow > 4 * 60_000, 'five minutes for expirationDuration 5');
    assert.equal((await refreshApplication(h.client, application)).availableSessions, fresh.availableSessions - 3);

    offsetMs += 61_000; // past the 1-minute entitlements, well before the 5-minute one

    // The application is the first read: its counters already exclude the two expired sessions.
    const app = await refreshApplication(h.client, application);
    assert.equal(app.availableSessions, fresh.availableSessions - 1);
    assert.equal(app.activeSessions, fresh.activeSessions);

    const ended = await fetchResource(h.client, href(readFirst, 'self'));
    assert.equal(ended.endDate, expiries.readFirst, 'endDate is the expiry time, not the time of the read');
    assert.equal(ended.startDate, null);
    assert.equal(await sessionState(h.client, readFirst), 'Terminated');

    assertAwsError(await redeem(redeemFirst.entitlementUrl), 410, 'EntitlementExpiredException');
    assertAwsError(await onEntitlementUrl(redeemFirst.entitlementUrl, 'GET', { accept: 'application/json' }), 410, 'EntitlementExpiredException');
    assert.equal(await sessionState(h.client, redeemFirst), 'Terminated');
    assert.equal((await fetchResource(h.client, href(redeemFirst, 'self'))).endDate, expiries.redeemFirst);

    // Ended sessions stay listed.
    const { items } = await allItems(h.client, href(application, 'application:sessions'));
    for (const s of [readFirst, redeemFirst, longer]) assert.ok(items.includes(href(s, 'self')));

    // Terminating an expired session is an idempotent no-op: endDate stays the expiry time.
    const repeat = await terminate(h.client, readFirst);
    assert.equal(repeat.status, 200, repeat.text);
    assert.equal(repeat.json.state, 'Terminated');
    assert.equal((await fetchResource(h.client, href(readFirst, 'self'))).endDate, expiries.readFirst);

    // The 5-minute entitlement is still good.
    assert.equal(await sessionState(h.client, longer), 'Entitled');
    const grant = await redeem(longer.entitlementUrl);
    assert.equal(grant.status, 200, grant.text);
    assert.equal(await sessionState(h.client, longer), 'Reserved');
    assert.equal((await terminate(h.client, longer)).status, 200);
  });

  test('the sessions collection is a lazy read too: an expired session is Terminated once listed', async () => {
    const session = await entitleOk(h.client, application, { expirationDuration: 1 });
    const expiry = await expiresAt(session);
    offsetMs += 61_000;
    // First read after the clock moved: the collection. Read the session state directly from
    // the store afterwards so no further API read can be what ended it.
    await allItems(h.client, href(application, 'application:sessions'));
    const row = await h.server.app.sessions.getInternal(session.id);
    assert.equal(row?.state, 'Terminated');
    assert.equal(row?.end_date, expiry);
    assertAwsError(await redeem(session.entitlementUrl), 410, 'EntitlementExpiredException');
  });

  test('a redemption just before the expiry succeeds', async () => {
    const session = await entitleOk(h.client, application, { expirationDuration: 1 });
    offsetMs += 50_000;
    const grant = await redeem(session.entitlementUrl);
    assert.equal(grant.status, 200, grant.text);
    offsetMs += 20_000; // past the entitlement expiry: a redeemed session is not expired by it
    assert.equal(await sessionState(h.client, session), 'Reserved');
    assert.equal((await fetchResource(h.client, href(session, 'self'))).endDate, null);
    assert.equal((await terminate(h.client, session)).status, 200);
  });
});
