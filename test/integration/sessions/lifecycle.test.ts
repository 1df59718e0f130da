/**
 * Sessions over the real API, navigated from GET / with an independent signer:
 * entitle → list → by-id → status → terminate, body validation, and redemption on the
 * unsigned entitlement URL. Ends by checking no secret reached the server's logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { href } from '../../helpers/signed-client.js';
import {
  allItems,
  createActiveApplication,
  entitle,
  entitleOk,
  fetchResource,
  ISO_DATE,
  onEntitlementUrl,
  redeem,
  refreshApplication,
  sessionState,
  startHarness,
  terminate,
  type Harness,
} from './support.js';

describe('sessions: entitle, read, terminate, redeem', () => {
  let h: Harness;
  let application: any;
  /** Every secret handed out in this file; none may appear in a log line. */
  const secrets: string[] = [];

  before(async () => {
    h = await startHarness({ env: { APPSTREAMD_ENTITLE_SESSION_RATE: '1000' } });
    application = await createActiveApplication(h.client, h.packageUrl);
  });

  after(async () => {
    await h.stop();
  });

  test('entitle → list → by-id → status → terminate, by HAL navigation', async () => {
    const before = await refreshApplication(h.client, application);
    const res = await entitle(h.client, application, { opaqueData: 'user-42', expirationDuration: 5 });
    assert.equal(res.status, 201, res.text);
    const session = res.json;
    assert.equal(res.headers.location, href(session, 'self'));
    assert.match(String(res.headers['content-type']), /^application\/hal\+json/);
    assert.match(session.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(session.opaqueData, 'user-42');
    assert.ok(Number.isInteger(session.errorCount) && session.errorCount === 0, 'errorCount is the integer 0');
    assert.equal(session.startDate, null);
    assert.equal(session.endDate, null);
    const entitlementUrl = new URL(session.entitlementUrl);
    assert.equal(entitlementUrl.origin, h.server.url);
    assert.match(entitlementUrl.pathname, /^\/entitlements\/[A-Za-z0-9_-]{16,}$/);
    assert.ok(!entitlementUrl.pathname.includes(session.id), 'the token is not the session id');
    secrets.push(entitlementUrl.pathname.split('/').pop()!);
    for (const rel of ['session:status', 'session:terminate', 'collection']) assert.equal(typeof href(session, rel), 'string');
    assert.equal(href(session, 'session:status'), href(session, 'session:terminate'));
    assert.equal(href(session, 'collection'), href(application, 'application:sessions'));

    // The application reflects the new live session.
    const afterEntitle = await refreshApplication(h.client, application);
    assert.equal(afterEntitle.availableSessions, before.availableSessions - 1);
    assert.equal(afterEntitle.activeSessions, before.activeSessions, 'an Entitled session is not active');

    // list → item → the session
    const { items } = await allItems(h.client, href(application, 'application:sessions'));
    assert.ok(items.includes(href(session, 'self')), 'the session is listed');

    // by-id (templated), from the collection
    const collection = await fetchResource(h.client, href(application, 'application:sessions'));
    assert.equal(collection._links['session:by-id'].templated, true);
    const byId = await fetchResource(h.client, href(collection, 'session:by-id', { session_id: session.id }));
    assert.equal(byId.id, session.id);
    assert.equal(byId.entitlementUrl, session.entitlementUrl, 'the URL is shown again on every GET');
    assert.equal(byId.opaqueData, 'user-42');
    assert.ok(Number.isInteger(byId.errorCount));
    assert.equal(byId.startDate, null);
    assert.equal(byId.endDate, null);

    // status
    const status = await fetchResource(h.client, href(byId, 'session:status'));
    assert.equal(status.state, 'Entitled');
    assert.equal(href(status, 'up'), href(session, 'self'));

    // terminate
    const ended = await terminate(h.client, byId);
    assert.equal(ended.status, 200, ended.text);
    assert.equal(ended.json.state, 'Terminated');
    assert.equal(href(ended.json, 'self'), href(session, 'session:status'));
    const afterEnd = await fetchResource(h.client, href(session, 'self'));
    assert.match(afterEnd.endDate, ISO_DATE);
    assert.equal(afterEnd.startDate, null, 'never connected, so no startDate');
    assert.equal(await sessionState(h.client, session), 'Terminated');
    const afterTerminate = await refreshApplication(h.client, application);
    assert.equal(afterTerminate.availableSessions, before.availableSessions, 'the slot is free again');

    // idempotent repeat: 200, same state, endDate set once
    const again = await terminate(h.client, byId);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.state, 'Terminated');
    const afterRepeat = await fetchResource(h.client, href(session, 'self'));
    assert.equal(afterRepeat.endDate, afterEnd.endDate, 'endDate is unchanged by the repeat');
  });

  test('terminate with any state other than "Terminated" → 400 ValidationException; the session stays Entitled', async () => {
    const session = await entitleOk(h.client, application);
    for (const state of ['Completed', 'terminated', 'Active', '', 7, true, ['Terminated'], { s: 1 }]) {
      const res = await terminate(h.client, session, state);
      assertAwsError(res, 400, 'ValidationException');
      assert.match(res.json.message, /state/);
    }
    const missing = await h.client.putJson(href(session, 'session:terminate'), {});
    assertAwsError(missing, 400, 'ValidationException');
    assert.match(missing.json.message, /state/);
    assert.equal(await sessionState(h.client, session), 'Entitled');
    assert.equal((await terminate(h.client, session)).status, 200);
  });

  test('validation: opaqueData over 4096 characters and bad expirationDuration values name the field', async () => {
    const cases: { body: Record<string, unknown>; field: string }[] = [
      { body: { opaqueData: 'x'.repeat(4097) }, field: 'opaqueData' },
      { body: { opaqueData: 42 }, field: 'opaqueData' },
      { body: { expirationDuration: 0 }, field: 'expirationDuration' },
      { body: { expirationDuration: 61 }, field: 'expirationDuration' },
      { body: { expirationDuration: 1.5 }, field: 'expirationDuration' },
      { body: { expirationDuration: '5' }, field: 'expirationDuration' },
      { body: { expirationDuration: -1 }, field: 'expirationDuration' },
    ];
    const before = await refreshApplication(h.client, application);
    for (const c of cases) {
      const res = await entitle(h.client, application, c.body);
      assertAwsError(res, 400, 'ValidationException');
      assert.ok(res.json.message.includes(c.field), `message names ${c.field}: ${res.json.message}`);
    }
    const afterRejects = await refreshApplication(h.client, application);
    assert.equal(afterRejects.availableSessions, before.availableSessions, 'rejected entitles create nothing');

    // Limits are inclusive: exactly 4096 characters (counted as characters, not bytes) and 1 / 60 minutes.
    const max = await entitleOk(h.client, application, { opaqueData: 'é'.repeat(4096), expirationDuration: 60 });
    assert.equal(max.opaqueData, 'é'.repeat(4096));
    const one = await entitleOk(h.client, application, { expirationDuration: 1, opaqueData: null });
    assert.equal(one.opaqueData, null);
    for (const s of [max, one]) assert.equal((await terminate(h.client, s)).status, 200);
  });

  test('an empty body and {} are accepted, with the default expiration of 1 minute', async () => {
    const emptyBody = await entitle(h.client, application);
    assert.equal(emptyBody.status, 201, emptyBody.text);
    const emptyObject = await entitle(h.client, application, {});
    assert.equal(emptyObject.status, 201, emptyObject.text);
    for (const res of [emptyBody, emptyObject]) {
      const session = res.json;
      assert.equal(session.opaqueData, null);
      const info = await onEntitlementUrl(session.entitlementUrl, 'GET', { accept: 'application/json' });
      assert.equal(info.status, 200, info.text);
      const lifetime = Date.parse(info.json.expiresAt) - Date.now();
      assert.ok(lifetime > 0 && lifetime <= 60_000, `expires within a minute (in ${lifetime} ms)`);
      assert.equal((await terminate(h.client, session)).status, 200);
    }
  });

  test('redemption: GET never redeems; POST redeems once with a connect token; the session reads Reserved', async () => {
    const fresh = await refreshApplication(h.client, application);
    const session = await entitleOk(h.client, application, { expirationDuration: 10 });
    const url = session.entitlementUrl as string;

    const page = await onEntitlementUrl(url, 'GET', { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' });
    assert.equal(page.status, 200, page.text);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.text, /<html/i);
    assert.equal(await sessionState(h.client, session), 'Entitled', 'a browser GET does not redeem');

    const info = await onEntitlementUrl(url, 'GET', { accept: 'application/json' });
    assert.equal(info.status, 200, info.text);
    assert.match(String(info.headers['content-type']), /^application\/json/);
    assert.equal(await sessionState(h.client, session), 'Entitled', 'a JSON GET does not redeem');

    const before = Date.now();
    const res = await redeem(url);
    assert.equal(res.status, 200, res.text);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const grant = res.json;
    assert.deepEqual(Object.keys(grant).sort(), ['connectToken', 'connectTokenExpiresAt', 'protocol', 'resumeSecret', 'sessionId', 'streamUrl']);
    assert.equal(grant.sessionId, session.id);
    assert.equal(grant.protocol, 'terminal');
    const stream = new URL(grant.streamUrl);
    assert.equal(stream.protocol, 'ws:');
    assert.equal(stream.host, new URL(h.server.url).host);
    for (const secret of ['connectToken', 'resumeSecret']) {
      assert.equal(typeof grant[secret], 'string');
      assert.ok(grant[secret].length >= 32, `${secret} is long enough to be unguessable`);
    }
    assert.notEqual(grant.connectToken, grant.resumeSecret);
    assert.match(grant.connectTokenExpiresAt, ISO_DATE);
    const ttl = Date.parse(grant.connectTokenExpiresAt) - before;
    assert.ok(ttl > 20_000 && ttl <= 31_000, `connect token valid about 30 s (got ${ttl} ms)`);
    secrets.push(grant.connectToken, grant.resumeSecret);

    assert.equal(await sessionState(h.client, session), 'Reserved');
    const reserved = await fetchResource(h.client, href(session, 'self'));
    assert.equal(reserved.startDate, null, 'no client has attached yet');
    assert.equal(reserved.endDate, null);
    const app = await refreshApplication(h.client, application);
    assert.equal(fresh.activeSessions, 0, 'earlier tests ended their sessions');
    assert.equal(app.activeSessions, 1);
    assert.equal(app.availableSessions, fresh.availableSessions - 1);

    // A second redemption: gone.
    assertAwsError(await redeem(url), 410, 'EntitlementExpiredException');
    // The JSON GET also says so now; the HTML GET still serves the page (it never looks the token up).
    assertAwsError(await onEntitlementUrl(url, 'GET', { accept: 'application/json' }), 410, 'EntitlementExpiredException');
    assert.equal(await sessionState(h.client, session), 'Reserved');

    // Terminating a redeemed session frees the active slot.
    assert.equal((await terminate(h.client, session)).status, 200);
    const ended = await refreshApplication(h.client, application);
    assert.equal(ended.activeSessions, fresh.activeSessions);
    assert.equal(ended.availableSessions, fresh.availableSessions);
    assertAwsError(await redeem(url), 410, 'EntitlementExpiredException');
  });

  test('redemption of an unknown or malformed token → 404 EntitlementNotFoundException', async () => {
    const base = h.server.url;
    const unknownToken = 'A'.repeat(43);
    assertAwsError(await redeem(`${base}/entitlements/${unknownToken}`), 404, 'EntitlementNotFoundException');
    assertAwsError(await onEntitlementUrl(`${base}/entitlements/${unknownToken}`, 'GET', { accept: 'application/json' }), 404, 'EntitlementNotFoundException');
    assertAwsError(await redeem(`${base}/entitlements/short`), 404, 'EntitlementNotFoundException');
    assertAwsError(await redeem(`${base}/entitlements/${'%2e'.repeat(20)}`), 404, 'EntitlementNotFoundException');
  });

  test('50 concurrent POSTs on one fresh entitlement URL: exactly one redeems, the rest get 410', async () => {
    const fresh = await refreshApplication(h.client, application);
    const session = await entitleOk(h.client, application);
    const results = await Promise.all(Array.from({ length: 50 }, () => redeem(session.entitlementUrl)));
    const winners = results.filter((r) => r.status >= 200 && r.status < 300);
    assert.equal(winners.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
    for (const r of results) if (r !== winners[0]) assertAwsError(r, 410, 'EntitlementExpiredException');
    secrets.push(winners[0]!.json.connectToken, winners[0]!.json.resumeSecret);
    assert.equal(await sessionState(h.client, session), 'Reserved');
    const app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, fresh.activeSessions + 1, 'one redemption, one active session');
    assert.equal((await terminate(h.client, session)).status, 200);
  });

  test('no entitlement token, connect token, resume secret or secret access key appears in the logs', async () => {
    // Collect every entitlement token this server issued, via the sessions collection.
    const { items } = await allItems(h.client, href(application, 'application:sessions'));
    assert.ok(items.length >= 5);
    for (const item of items) {
      const session = await fetchResource(h.client, item);
      secrets.push(new URL(session.entitlementUrl).pathname.split('/').pop()!);
    }
    secrets.push(h.server.credentials.secretAccessKey);
    assert.ok(secrets.length > items.length);
    assert.ok(h.server.logs.length > 0, 'the server logged requests');
    const entitlementRequests = h.server.logs.filter((l) => l.includes('/entitlements/'));
    assert.ok(entitlementRequests.length > 0, 'redemption requests were logged (with masked URLs)');
    for (const line of h.server.logs) {
      assert.doesNotThrow(() => JSON.parse(line), `every log line is JSON: ${line.slice(0, 200)}`);
      for (const secret of secrets) {
        assert.ok(!line.includes(secret), `a secret leaked into the log: ${line.slice(0, 300)}`);
      }
    }
  });
});
