/**
 * Account isolation: another account's applications and sessions do not exist for a caller
 * (404 ResourceNotFoundException on list, by-id, status, terminate and entitle).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { applicationsCollection } from '../../helpers/hal-flow.js';
import { href, SignedClient } from '../../helpers/signed-client.js';
import { allItems, createActiveApplication, entitle, entitleOk, fetchResource, sessionState, startHarness, terminate, type Harness } from './support.js';

describe('sessions across accounts', () => {
  let h: Harness;
  let other: SignedClient;
  let ownApp: any;
  let otherApp: any;
  let ownSession: any;
  let otherSession: any;
  let otherSecret: string;

  before(async () => {
    h = await startHarness({ env: { APPSTREAMD_ENTITLE_SESSION_RATE: '1000' } });
    const keys = await h.server.app.accounts.createAccountWithKey('other account');
    assert.notEqual(keys.accountId, h.server.credentials.accountId);
    other = new SignedClient(h.server.url, keys);
    otherSecret = keys.secretAccessKey;
    [ownApp, otherApp] = await Promise.all([createActiveApplication(h.client, h.packageUrl, 'mine'), createActiveApplication(other, h.packageUrl, 'theirs')]);
    ownSession = await entitleOk(h.client, ownApp);
    otherSession = await entitleOk(other, otherApp);
  });

  after(async () => {
    await h.stop();
  });

  for (const direction of ['own → other', 'other → own'] as const) {
    test(`${direction}: list, by-id, status, terminate and entitle → 404 ResourceNotFoundException`, async () => {
      const [caller, app, session] = direction === 'own → other' ? [h.client, otherApp, otherSession] : [other, ownApp, ownSession];
      const owner = caller === h.client ? other : h.client;
      assertAwsError(await caller.get(href(app, 'self')), 404, 'ResourceNotFoundException');
      assertAwsError(await caller.get(href(app, 'application:sessions')), 404, 'ResourceNotFoundException');
      assertAwsError(await caller.get(href(session, 'self')), 404, 'ResourceNotFoundException');
      assertAwsError(await caller.get(href(session, 'session:status')), 404, 'ResourceNotFoundException');
      assertAwsError(await terminate(caller, session), 404, 'ResourceNotFoundException');
      const denied = await entitle(caller, app, { opaqueData: 'intruder' });
      assertAwsError(denied, 404, 'ResourceNotFoundException');

      // The caller's own application does not reach the other's session either.
      const callerApp = caller === h.client ? ownApp : otherApp;
      const callerCollection = await fetchResource(caller, href(callerApp, 'application:sessions'));
      assertAwsError(await caller.get(href(callerCollection, 'session:by-id', { session_id: session.id })), 404, 'ResourceNotFoundException');
      const { items } = await allItems(caller, href(callerApp, 'application:sessions'));
      assert.ok(!items.includes(href(session, 'self')));
      const callerApps = await applicationsCollection(caller);
      assert.ok(!(callerApps._links.item as { href: string }[]).some((l) => l.href === href(app, 'self')));

      // Nothing changed for the owner: still Entitled, still the only session.
      assert.equal(await sessionState(owner, session), 'Entitled');
      const ownerItems = await allItems(owner, href(app, 'application:sessions'));
      assert.deepEqual(ownerItems.items, [href(session, 'self')]);
    });
  }

  test('each owner can still terminate its own session', async () => {
    for (const [client, session] of [[h.client, ownSession], [other, otherSession]] as const) {
      const res = await terminate(client, session);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.state, 'Terminated');
    }
  });

  test("neither account's secret access key appears in the logs", () => {
    assert.ok(h.server.logs.length > 0);
    for (const secret of [h.server.credentials.secretAccessKey, otherSecret]) {
      for (const line of h.server.logs) assert.ok(!line.includes(secret), `a secret key leaked into the log: ${line.slice(0, 300)}`);
    }
  });
});
