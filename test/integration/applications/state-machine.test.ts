/**
 * The application state machine (§3.6.3) over the real install pipeline: archive, reactivate
 * (a real re-provisioning), the 409s of states that do not allow an operation, and delete.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { errorRecords, pollStatus, settled } from '../../helpers/hal-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, SignedClient } from '../../helpers/signed-client.js';
import { makeTarGz, makeTempDir, removeDir, serveBytes, startServer as startPackageServer, type TestServer as PackageServer } from '../../helpers/packages.js';
import { collectionOf, createOk, deleteApplication, fetchOk, gatedRoute, itemHrefs, putState, waitFor, type Gate } from './support.js';

const SCRIPT = '#!/bin/sh\necho hi\n';

describe('application state machine', () => {
  let server: TestServer;
  let client: SignedClient;
  let packages: PackageServer;
  let work: string;
  let gate: Gate;

  before(async () => {
    work = await makeTempDir();
    const tgz = await makeTarGz(work, [{ path: 'bin/run.sh', content: SCRIPT, mode: 0o755 }]);
    gate = gatedRoute(serveBytes(tgz));
    packages = await startPackageServer({ '/app.tgz': serveBytes(tgz), '/held.tgz': gate.route });
    server = await startServer({ APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true', APPSTREAMD_CREATE_APPLICATION_RATE: '1000' });
    client = new SignedClient(server.url, server.credentials);
  });

  after(async () => {
    gate?.open();
    await server?.stop();
    await packages?.close();
    if (work) await removeDir(work);
  });

  async function activeApp(name: string): Promise<any> {
    const app = await createOk(client, { name, installerUrl: `${packages.origin}/app.tgz`, installerParameters: '', launchPath: 'bin/run.sh' });
    const { final } = await pollStatus(client, app, settled);
    assert.equal(final.state, 'Active', JSON.stringify(final));
    return fetchOk(client, href(app, 'self'));
  }

  async function failedApp(name: string): Promise<any> {
    const app = await createOk(client, { name, installerUrl: `${packages.origin}/missing.tgz`, installerParameters: '', launchPath: 'bin/run.sh' });
    const { final } = await pollStatus(client, app, settled);
    assert.equal(final.state, 'Error', JSON.stringify(final));
    return fetchOk(client, href(app, 'self'));
  }

  function assertStatusShape(status: any, app: any): void {
    assert.equal(href(status, 'self'), href(app, 'application:status'));
    assert.equal(href(status, 'up'), href(app, 'self'));
    assert.equal(status.setupUrl, null);
    assert.equal(status.setupEntitlement, null);
    const hasStep = status.state === 'Building' || status.state === 'Error';
    assert.equal('buildStep' in status, hasStep, `buildStep only in Building/Error: ${JSON.stringify(status)}`);
    if (hasStep) assert.equal(typeof status.buildStep, 'string');
  }

  test('archive an Active application → 200 Archived; again → 200, unchanged; reactivate on Active → 200, no change', async () => {
    const app = await activeApp('archive me');
    const activeStatus = await fetchOk(client, href(app, 'application:status'));
    assertStatusShape(activeStatus, app);

    const same = await putState(client, app, 'application:reactivate', 'Active');
    assert.equal(same.status, 200, same.text);
    assert.equal(same.json.state, 'Active');
    assert.deepEqual((await fetchOk(client, href(app, 'self'))).lastUpdatedDate, app.lastUpdatedDate);

    const res = await putState(client, app, 'application:archive', 'Archived');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.state, 'Archived', 'no sessions: straight to Archived');
    assertStatusShape(res.json, app);

    const again = await putState(client, app, 'application:archive', 'Archived');
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.json, res.json);

    const archived = await fetchOk(client, href(app, 'self'));
    assert.equal(archived.availableSessions, 0, 'an archived application has no capacity');
    assert.ok(itemHrefs(await collectionOf(client)).includes(href(app, 'self')), 'archived applications stay listed');
  });

  test('reactivate an Archived application → Building (Provisioning) → Active', async () => {
    const app = await activeApp('reactivate me');
    assert.equal((await putState(client, app, 'application:archive', 'Archived')).json.state, 'Archived');

    const res = await putState(client, app, 'application:reactivate', 'Active');
    assert.equal(res.status, 200, res.text);
    assertStatusShape(res.json, app);
    // Re-provisioning is quick; the answer shows Building/Provisioning unless it already finished.
    assert.ok(['Building', 'Active'].includes(res.json.state), JSON.stringify(res.json));
    if (res.json.state === 'Building') assert.equal(res.json.buildStep, 'Provisioning');

    const { final, seen } = await pollStatus(client, app, settled);
    assert.equal(final.state, 'Active');
    for (const s of seen) {
      assertStatusShape(s, app);
      if (s.state === 'Building') assert.equal(s.buildStep, 'Provisioning', 'reactivation only re-provisions');
    }
    assert.equal((await fetchOk(client, href(app, 'self'))).availableSessions, 10);
  });

  test('archive/reactivate/delete while Building → 409 ConflictException; status shows the step', async () => {
    const app = await createOk(client, { name: 'held', installerUrl: `${packages.origin}/held.tgz`, installerParameters: '', launchPath: 'bin/run.sh' });
    await waitFor('the download to start', () => gate.arrived() > 0);
    const status = await fetchOk(client, href(app, 'application:status'));
    assert.equal(status.state, 'Building');
    assert.equal(status.buildStep, 'Copying');
    assertStatusShape(status, app);

    assertAwsError(await putState(client, app, 'application:archive', 'Archived'), 409, 'ConflictException');
    assertAwsError(await putState(client, app, 'application:reactivate', 'Active'), 409, 'ConflictException');
    assertAwsError(await deleteApplication(client, app), 409, 'ConflictException');
    assert.equal((await fetchOk(client, href(app, 'application:status'))).state, 'Building');

    gate.open();
    const { final } = await pollStatus(client, app, settled);
    assert.equal(final.state, 'Active');
  });

  test('archive/reactivate on Error → 409 ConflictException', async () => {
    const app = await failedApp('broken');
    const status = await fetchOk(client, href(app, 'application:status'));
    assert.equal(status.buildStep, 'Copying');
    assertStatusShape(status, app);
    assertAwsError(await putState(client, app, 'application:archive', 'Archived'), 409, 'ConflictException');
    assertAwsError(await putState(client, app, 'application:reactivate', 'Active'), 409, 'ConflictException');
    assert.deepEqual(await fetchOk(client, href(app, 'application:status')), status);
  });

  test('bad state bodies → 400 ValidationException naming state', async () => {
    const app = await activeApp('bad bodies');
    const bodies: unknown[] = [{ state: 'Deleted' }, { state: 'archived' }, { state: '' }, {}, { state: null }, { state: 1 }, { state: ['Active'] }, { other: 'Active' }];
    for (const rel of ['application:archive', 'application:reactivate'] as const) {
      for (const body of bodies) {
        const res = await client.putJson(href(app, rel), body);
        assertAwsError(res, 400, 'ValidationException');
        assert.match(res.json.message, /state/, `${JSON.stringify(body)}: ${res.json.message}`);
      }
    }
    assertAwsError(await client.send({ method: 'PUT', path: href(app, 'application:archive'), body: 'not json' }), 400, 'SerializationException');
    assert.equal((await fetchOk(client, href(app, 'application:status'))).state, 'Active');
  });

  test('delete on Active or Archived → 409 ConflictException', async () => {
    const app = await activeApp('undeletable');
    assertAwsError(await deleteApplication(client, app), 409, 'ConflictException');
    await putState(client, app, 'application:archive', 'Archived');
    assertAwsError(await deleteApplication(client, app), 409, 'ConflictException');
    assert.equal((await fetchOk(client, href(app, 'application:status'))).state, 'Archived');
  });

  test('delete on Error → 200 Deleting; application, errors and image are gone', async () => {
    // An application that once had an image: Active, archived, then its re-provisioning fails.
    const app = await activeApp('delete me');
    const image = path.join(server.dataDir, 'images', app.id);
    assert.ok(existsSync(image));
    await putState(client, app, 'application:archive', 'Archived');
    rmSync(path.join(image, 'bin', 'run.sh'));
    await putState(client, app, 'application:reactivate', 'Active');
    const { final } = await pollStatus(client, app, settled);
    assert.equal(final.state, 'Error');
    assert.equal(final.buildStep, 'Provisioning');
    const records = await errorRecords(client, app);
    assert.equal(records.length, 1);
    assert.equal(records[0].errorCode, 'ProvisioningFailed');
    assert.ok(existsSync(image), 'a failed re-provisioning keeps the image');

    const res = await deleteApplication(client, app);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.state, 'Deleting');
    assert.equal(href(res.json, 'up'), href(app, 'self'));
    assert.equal('buildStep' in res.json, false);
    assert.ok(!existsSync(image), 'image folder removed');

    assertAwsError(await client.get(href(app, 'self')), 404, 'ResourceNotFoundException');
    assertAwsError(await client.get(href(app, 'application:status')), 404, 'ResourceNotFoundException');
    assertAwsError(await client.get(href(app, 'application:errors')), 404, 'ResourceNotFoundException');
    assertAwsError(await client.get(href(records[0], 'self')), 404, 'ResourceNotFoundException');
    assertAwsError(await deleteApplication(client, app), 404, 'ResourceNotFoundException');
    assert.ok(!itemHrefs(await collectionOf(client)).includes(href(app, 'self')), 'no longer listed');
  });

  test('delete on a first build that failed → 200 Deleting, then 404', async () => {
    const app = await failedApp('never built');
    const res = await deleteApplication(client, app);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.state, 'Deleting');
    assertAwsError(await client.get(href(app, 'self')), 404, 'ResourceNotFoundException');
    assertAwsError(await client.get(href(app, 'application:errors')), 404, 'ResourceNotFoundException');
  });
});
