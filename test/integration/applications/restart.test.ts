/**
 * A server restarted on the same data folder keeps every application, its state, counters and
 * error records; a build interrupted by the shutdown is resumed, not left in Building, and no
 * scratch folder survives.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pollStatus, settled } from '../../helpers/hal-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, SignedClient } from '../../helpers/signed-client.js';
import { makeTarGz, makeTempDir, removeDir, serveBytes, startServer as startPackageServer, type TestServer as PackageServer } from '../../helpers/packages.js';
import { allPages, collectionOf, createOk, fetchOk, gatedRoute, itemHrefs, putState, waitFor, type Gate } from './support.js';

const ENV = { APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true', APPSTREAMD_CREATE_APPLICATION_RATE: '1000' };

/** Scratch folders of an application: `<appId>-*` anywhere under the build root (its layout may nest). */
function scratchFolders(root: string, applicationId: string, depth = 3): string[] {
  if (depth === 0 || !existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => (e.name.startsWith(`${applicationId}-`) ? [path.join(root, e.name)] : scratchFolders(path.join(root, e.name), applicationId, depth - 1)));
}

function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(root, e.name)) : [path.join(root, e.name)]));
}

interface Snapshot {
  app: any;
  status: any;
  errorHrefs: string[];
}

describe('restart on the same data folder', () => {
  let packages: PackageServer;
  let gate: Gate;
  let work: string;
  let server: TestServer | undefined;
  let dataDir: string;

  before(async () => {
    work = await makeTempDir();
    const tgz = await makeTarGz(work, [{ path: 'bin/run.sh', content: '#!/bin/sh\necho hi\n', mode: 0o755 }]);
    gate = gatedRoute(serveBytes(tgz));
    packages = await startPackageServer({ '/app.tgz': serveBytes(tgz), '/held.tgz': gate.route });
  });

  after(async () => {
    gate?.open();
    await server?.stop();
    await packages?.close();
    if (work) await removeDir(work);
  });

  /** Stops the running server keeping its data, and starts a new one on the same folder. */
  async function restart(): Promise<void> {
    await server!.stop({ keepData: true });
    server = undefined;
    server = await startServer(ENV, { dataDir });
  }

  async function snapshot(client: SignedClient, app: any): Promise<Snapshot> {
    const errors = await allPages(client, await fetchOk(client, href(app, 'application:errors')));
    return {
      app: await fetchOk(client, href(app, 'self')),
      status: await fetchOk(client, href(app, 'application:status')),
      errorHrefs: errors.flatMap(itemHrefs),
    };
  }

  test('applications, states, counters and error records (Read and New) survive a restart', async () => {
    server = await startServer(ENV);
    dataDir = server.dataDir;
    const credentials = server.credentials;
    let client = new SignedClient(server.url, credentials);
    const body = { installerParameters: '', launchPath: 'bin/run.sh' };

    const active = await createOk(client, { ...body, name: 'active', installerUrl: `${packages.origin}/app.tgz`, logBucket: 'logs-bucket', logPaths: ['C:\\logs\\a.log'] });
    const archived = await createOk(client, { ...body, name: 'archived', installerUrl: `${packages.origin}/app.tgz` });
    const readFailure = await createOk(client, { ...body, name: 'failed, error read', installerUrl: `${packages.origin}/missing.tgz` });
    const unreadFailure = await createOk(client, { ...body, name: 'failed, error unread', installerUrl: `${packages.origin}/missing.tgz` });
    const apps = [active, archived, readFailure, unreadFailure];
    for (const app of apps) await pollStatus(client, app, settled);
    assert.equal((await putState(client, archived, 'application:archive', 'Archived')).json.state, 'Archived');
    await client.postJson(href(active, 'application:update'), { description: 'updated before restart' });

    const firstRead = await fetchOk(client, (await snapshot(client, readFailure)).errorHrefs[0]!);
    assert.equal(firstRead.state, 'New');
    const before = await Promise.all(apps.map((app) => snapshot(client, app)));
    assert.deepEqual(before.map((s) => s.status.state), ['Active', 'Archived', 'Error', 'Error']);
    assert.deepEqual(before.map((s) => s.app.applicationErrorCount), [0, 0, 1, 1]);
    const listed = (await allPages(client, await collectionOf(client))).flatMap(itemHrefs);

    await restart();
    // startServer made a new account; the old credentials must still work.
    client = new SignedClient(server!.url, credentials);

    const afterRestart = await Promise.all(apps.map((app) => snapshot(client, app)));
    assert.deepEqual(afterRestart, before, 'applications, statuses, counters and error links are unchanged');
    assert.deepEqual((await allPages(client, await collectionOf(client))).flatMap(itemHrefs), listed);
    assert.equal(afterRestart[0]!.app.description, 'updated before restart');
    assert.equal(afterRestart[0]!.app.availableSessions, 10);
    assert.ok(existsSync(path.join(dataDir, 'images', active.id)), 'the Active image is still there');

    const readAgain = await fetchOk(client, afterRestart[2]!.errorHrefs[0]!);
    assert.deepEqual(readAgain, { ...firstRead, state: 'Read' }, 'the read record is Read and otherwise unchanged');
    const unread = await fetchOk(client, afterRestart[3]!.errorHrefs[0]!);
    assert.equal(unread.state, 'New', 'a record never read is still New');
    assert.equal(unread.errorCode, 'InstallerDownloadFailed');

    // The reactivated archive still works after the restart.
    await putState(client, archived, 'application:reactivate', 'Active');
    assert.equal((await pollStatus(client, archived, settled)).final.state, 'Active');
  });

  test('a build interrupted by shutdown resumes after restart and no scratch folder remains', async () => {
    await server?.stop();
    server = await startServer(ENV);
    dataDir = server.dataDir;
    const credentials = server.credentials;
    let client = new SignedClient(server.url, credentials);
    const buildRoot = path.join(dataDir, 'build');
    const app = await createOk(client, { name: 'interrupted', installerUrl: `${packages.origin}/held.tgz`, installerParameters: '', launchPath: 'bin/run.sh' });
    await waitFor('the download to start', () => gate.arrived() === 1);
    const during = await fetchOk(client, href(app, 'application:status'));
    assert.deepEqual([during.state, during.buildStep], ['Building', 'Copying']);
    const scratch = scratchFolders(buildRoot, app.id);
    assert.equal(scratch.length, 1, 'the build has its scratch folder while downloading');

    // Closing aborts the build mid-download; the application stays Building in the store.
    await server.stop({ keepData: true });
    server = undefined;
    server = await startServer(ENV, { dataDir });
    client = new SignedClient(server.url, credentials);

    // The build starts again from the beginning: a second download request arrives.
    await waitFor('the resumed download', () => gate.arrived() === 2);
    const resumed = await fetchOk(client, href(app, 'application:status'));
    assert.deepEqual([resumed.state, resumed.buildStep], ['Building', 'Copying']);

    gate.open();
    const { final } = await pollStatus(client, app, settled);
    assert.equal(final.state, 'Active', JSON.stringify(final));
    const after = await fetchOk(client, href(app, 'self'));
    assert.equal(after.applicationErrorCount, 0);
    assert.deepEqual(itemHrefs(await fetchOk(client, href(app, 'application:errors'))), []);
    assert.ok(existsSync(path.join(dataDir, 'images', app.id, 'bin', 'run.sh')));
    await server.app.builds.idle();
    assert.ok(!existsSync(scratch[0]!), 'the interrupted build’s scratch folder was removed');
    assert.deepEqual(scratchFolders(buildRoot, app.id), [], 'no scratch folder of the application remains under <data>/build');
    assert.deepEqual(filesUnder(buildRoot), [], 'no file remains under <data>/build');
  });
});
