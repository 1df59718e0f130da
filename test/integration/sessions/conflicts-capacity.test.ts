/**
 * Entitle against the application's state and capacity: 409 unless Active, 429
 * LimitExceededException when every slot is taken, and the archive interplay (§3.6.3):
 * un-redeemed sessions end at once, the last live session's end completes the archive.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { applicationsCollection, createApplication, pollStatus } from '../../helpers/hal-flow.js';
import { href } from '../../helpers/signed-client.js';
import {
  createActiveApplication,
  entitle,
  entitleOk,
  fetchResource,
  heldRoute,
  ISO_DATE,
  redeem,
  refreshApplication,
  sessionState,
  startHarness,
  terminate,
  type Harness,
} from './support.js';

describe('entitle: application state and capacity', () => {
  let h: Harness;
  const held = heldRoute();

  before(async () => {
    h = await startHarness({
      env: { APPSTREAMD_SESSION_CAPACITY: '2', APPSTREAMD_ENTITLE_SESSION_RATE: '1000' },
      routes: { '/held.tar.gz': held.route },
    });
  });

  after(async () => {
    held.release();
    await h.stop();
  });

  async function expectConflict(application: any, state: string): Promise<void> {
    const status = await fetchResource(h.client, href(application, 'application:status'));
    assert.equal(status.state, state);
    const res = await entitle(h.client, application, {});
    assertAwsError(res, 409, 'ConflictException');
    assert.ok(res.json.message.includes(state), `message names the state ${state}: ${res.json.message}`);
    const collection = await fetchResource(h.client, href(application, 'application:sessions'));
    assert.deepEqual(collection._links.item, [], 'no session was created');
  }

  test('New → 409 ConflictException', async () => {
    // The API moves a new application to Building within its create call, so a New one is
    // made in the store (as a build that has not started yet would leave it), then reached over HAL.
    const row = await h.server.app.applications.create({
      accountId: h.server.credentials.accountId,
      name: 'never built',
      description: null,
      installerUrl: h.packageUrl,
      installerParameters: '',
      launchPath: 'bin/run.sh',
      launchParameters: '',
      logBucket: null,
      logPaths: [],
      streamProtocol: 'terminal',
      sessionCapacity: 2,
    });
    const collection = await applicationsCollection(h.client);
    const application = await fetchResource(h.client, href(collection, 'application:by-id', { application_id: row.id }));
    await expectConflict(application, 'New');
  });

  test('Building → 409, then Error (404 installer URL) → 409', async () => {
    const created = await createApplication(h.client, { name: 'held', installerUrl: `${h.packages.origin}/held.tar.gz`, installerParameters: '', launchPath: 'bin/run.sh' });
    assert.equal(created.status, 201, created.text);
    const application = created.json;
    await pollStatus(h.client, application, (s) => s.state === 'Building' && s.buildStep === 'Copying');
    await expectConflict(application, 'Building');
    held.release(); // the package server now answers 404
    const { final } = await pollStatus(h.client, application, (s) => s.state === 'Error');
    assert.equal(final.buildStep, 'Copying');
    await expectConflict(application, 'Error');
  });

  test('capacity 2: the third live entitle → 429 LimitExceededException; ending one frees its slot', async () => {
    const application = await createActiveApplication(h.client, h.packageUrl, 'capacity');
    const fresh = await refreshApplication(h.client, application);
    assert.equal(fresh.availableSessions, 2);
    assert.equal(fresh.activeSessions, 0);

    const first = await entitleOk(h.client, application);
    const second = await entitleOk(h.client, application);
    let app = await refreshApplication(h.client, application);
    assert.equal(app.availableSessions, 0);
    assert.equal(app.activeSessions, 0, 'Entitled sessions hold a slot but are not active');

    const third = await entitle(h.client, application, {});
    assertAwsError(third, 429, 'LimitExceededException');

    // Redeeming one makes it active; capacity is still used up.
    const grant = await redeem(first.entitlementUrl);
    assert.equal(grant.status, 200, grant.text);
    app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, 1);
    assert.equal(app.availableSessions, 0);
    assertAwsError(await entitle(h.client, application, {}), 429, 'LimitExceededException');

    // Terminating the Entitled one frees its slot: the next entitle succeeds.
    assert.equal((await terminate(h.client, second)).status, 200);
    app = await refreshApplication(h.client, application);
    assert.equal(app.availableSessions, 1);
    assert.equal(app.activeSessions, 1);
    const replacement = await entitleOk(h.client, application);
    app = await refreshApplication(h.client, application);
    assert.equal(app.availableSessions, 0);
    assertAwsError(await entitle(h.client, application, {}), 429, 'LimitExceededException');

    // Terminating the Reserved one frees an active slot too.
    assert.equal((await terminate(h.client, first)).status, 200);
    app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, 0);
    assert.equal(app.availableSessions, 1);
    assert.equal((await terminate(h.client, replacement)).status, 200);
    app = await refreshApplication(h.client, application);
    assert.equal(app.availableSessions, 2);
  });

  test('archive with a live Reserved session: Archiving, the Entitled one ends at once; ending the last one → Archived', async () => {
    const application = await createActiveApplication(h.client, h.packageUrl, 'archive with sessions');
    const reserved = await entitleOk(h.client, application);
    const grant = await redeem(reserved.entitlementUrl);
    assert.equal(grant.status, 200, grant.text);
    const entitled = await entitleOk(h.client, application);
    assert.equal(await sessionState(h.client, reserved), 'Reserved');
    assert.equal(await sessionState(h.client, entitled), 'Entitled');

    const archive = await h.client.putJson(href(application, 'application:archive'), { state: 'Archived' });
    assert.equal(archive.status, 200, archive.text);
    assert.equal(archive.json.state, 'Archiving');

    assert.equal(await sessionState(h.client, entitled), 'Terminated', 'the un-redeemed session ended with the archive');
    const ended = await fetchResource(h.client, href(entitled, 'self'));
    assert.match(ended.endDate, ISO_DATE);
    assertAwsError(await redeem(entitled.entitlementUrl), 410, 'EntitlementExpiredException');
    assert.equal(await sessionState(h.client, reserved), 'Reserved', 'the redeemed session keeps running');
    let app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, 1);
    assert.equal(app.availableSessions, 0, 'an archiving application offers no sessions');

    await expectConflictOn(application, 'Archiving');

    // Archive again while Archiving: idempotent.
    const repeat = await h.client.putJson(href(application, 'application:archive'), { state: 'Archived' });
    assert.equal(repeat.status, 200, repeat.text);
    assert.equal(repeat.json.state, 'Archiving');

    assert.equal((await terminate(h.client, reserved)).status, 200);
    const status = await fetchResource(h.client, href(application, 'application:status'));
    assert.equal(status.state, 'Archived', 'the last live session ending completes the archive');
    app = await refreshApplication(h.client, application);
    assert.equal(app.activeSessions, 0);
    await expectConflictOn(application, 'Archived');
  });

  test('archive with no live session goes straight to Archived; entitle → 409', async () => {
    const application = await createActiveApplication(h.client, h.packageUrl, 'archive idle');
    const old = await entitleOk(h.client, application);
    assert.equal((await terminate(h.client, old)).status, 200);
    const archive = await h.client.putJson(href(application, 'application:archive'), { state: 'Archived' });
    assert.equal(archive.status, 200, archive.text);
    assert.equal(archive.json.state, 'Archived');
    await expectConflictOn(application, 'Archived');
  });

  /** Like expectConflict, for applications that already have sessions. */
  async function expectConflictOn(application: any, state: string): Promise<void> {
    const status = await fetchResource(h.client, href(application, 'application:status'));
    assert.equal(status.state, state);
    const before = (await fetchResource(h.client, href(application, 'application:sessions')))._links.item.length;
    const res = await entitle(h.client, application, { opaqueData: 'late' });
    assertAwsError(res, 409, 'ConflictException');
    assert.ok(res.json.message.includes(state), `message names the state ${state}: ${res.json.message}`);
    const afterCount = (await fetchResource(h.client, href(application, 'application:sessions')))._links.item.length;
    assert.equal(afterCount, before, 'no session was created');
  }
});
