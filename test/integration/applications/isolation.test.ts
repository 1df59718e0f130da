/**
 * Applications are private to their account (§3.4): another account's application, its
 * status and its errors do not exist for the caller (404), whatever the operation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { pollStatus, settled } from '../../helpers/hal-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, type RawResponse, SignedClient } from '../../helpers/signed-client.js';
import { allPages, collectionOf, createOk, deleteApplication, fetchOk, itemHrefs, putState } from './support.js';

interface Owned {
  client: SignedClient;
  app: any;
  errorHref: string;
}

describe('account isolation of applications', () => {
  let server: TestServer;
  let a: Owned;
  let b: Owned;

  /** A settled application with one (unread) error record, owned by `client`. */
  async function ownedFailure(client: SignedClient, name: string): Promise<Owned> {
    const created = await createOk(client, { name, installerUrl: 'http://127.0.0.1:1/a.tgz', installerParameters: '', launchPath: 'a' });
    await pollStatus(client, created, settled);
    const app = await fetchOk(client, href(created, 'self'));
    const errors = await fetchOk(client, href(app, 'application:errors'));
    assert.equal(itemHrefs(errors).length, 1);
    return { client, app, errorHref: itemHrefs(errors)[0]! };
  }

  before(async () => {
    server = await startServer({ APPSTREAMD_CREATE_APPLICATION_RATE: '1000' });
    const other = await server.app.accounts.createAccountWithKey('other');
    assert.notEqual(other.accountId, server.credentials.accountId);
    a = await ownedFailure(new SignedClient(server.url, server.credentials), 'owned by A');
    b = await ownedFailure(new SignedClient(server.url, other), 'owned by B');
  });

  after(async () => {
    await server?.stop();
  });

  const notFound = (res: RawResponse) => assertAwsError(res, 404, 'ResourceNotFoundException');

  for (const [callerName, ownerName] of [
    ['B', 'A'],
    ['A', 'B'],
  ] as const) {
    describe(`${callerName} on ${ownerName}'s application`, () => {
      const caller = () => (callerName === 'A' ? a : b).client;
      const owned = () => (ownerName === 'A' ? a : b);

      test('is not in the caller’s collection, and by-id from the caller’s own collection → 404', async () => {
        const pages = await allPages(caller(), await collectionOf(caller()));
        const hrefs = pages.flatMap(itemHrefs);
        assert.equal(hrefs.length, 1, 'only the caller’s own application is listed');
        assert.ok(!hrefs.includes(href(owned().app, 'self')));
        const byId = href(await collectionOf(caller()), 'application:by-id', { application_id: owned().app.id });
        notFound(await caller().get(byId));
      });

      test('read, status, errors and an error record → 404', async () => {
        notFound(await caller().get(href(owned().app, 'self')));
        notFound(await caller().get(href(owned().app, 'application:status')));
        notFound(await caller().get(href(owned().app, 'application:errors')));
        notFound(await caller().get(owned().errorHref));
        notFound(await caller().get(href(owned().app, 'application:sessions')));
      });

      test('update, archive, reactivate, delete → 404, and nothing changed', async () => {
        const before = await fetchOk(owned().client, href(owned().app, 'self'));
        notFound(await caller().postJson(href(owned().app, 'application:update'), { name: 'hijacked' }));
        notFound(await putState(caller(), owned().app, 'application:archive', 'Archived'));
        notFound(await putState(caller(), owned().app, 'application:reactivate', 'Active'));
        notFound(await deleteApplication(caller(), owned().app));
        // Even an invalid body answers 404, so the existence of the id does not leak through validation.
        notFound(await caller().postJson(href(owned().app, 'application:update'), { name: '' }));
        assert.deepEqual(await fetchOk(owned().client, href(owned().app, 'self')), before);
      });
    });
  }

  test('the owners still see their error records as New: foreign reads did not mark them Read', async () => {
    for (const owned of [a, b]) {
      const record = await fetchOk(owned.client, owned.errorHref);
      assert.equal(record.state, 'New');
      assert.equal((await fetchOk(owned.client, owned.errorHref)).state, 'Read');
    }
  });
});
