/**
 * Applications over the real API and the real install pipeline: packages built here,
 * served by a loopback HTTP server, created by HAL navigation, polled to Active or Error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, SignedClient } from '../../helpers/signed-client.js';
import { createApplication, errorRecords, pollStatus, settled } from '../../helpers/hal-flow.js';
import { gzip, makeTarGz, makeTempDir, makeZip, rawTar, removeDir, serveBytes, startServer as startPackageServer, type Route, type TestServer as PackageServer } from '../../helpers/packages.js';

const SCRIPT = '#!/bin/sh\necho "hello from the app"\n';
const STEPS = ['Preparing', 'Copying', 'Installing', 'Creating', 'Provisioning'];

/** Serves bytes after a pause, so a poller can watch the build pass through its steps. */
function slow(route: Route, ms: number): Route {
  return (req, res) => setTimeout(() => route(req, res), ms);
}

describe('application install lifecycle', () => {
  let server: TestServer;
  let client: SignedClient;
  let packages: PackageServer;
  let work: string;

  before(async () => {
    work = await makeTempDir();
    const tgz = await makeTarGz(work, [{ path: 'bin/run.sh', content: SCRIPT, mode: 0o755 }, { path: 'README', content: 'x' }]);
    const zip = makeZip([{ name: 'app/run.sh', data: SCRIPT, mode: 0o100755, deflate: true }]);
    const noExec = await makeTarGz(work, [{ path: 'run.sh', content: SCRIPT, mode: 0o644 }]);
    packages = await startPackageServer({
      '/app.tar.gz': slow(serveBytes(tgz), 400),
      '/app.zip': serveBytes(zip),
      '/noexec.tgz': serveBytes(noExec),
      '/corrupt.tgz': serveBytes(gzip(Buffer.from('this is not a tar archive at all, just text'.repeat(40)))),
      '/big.bin': serveBytes(Buffer.alloc(300_000, 7)),
      '/escape.tgz': serveBytes(gzip(rawTar([{ name: 'run.sh', type: '0', data: SCRIPT, mode: 0o755 }, { name: '../../escaped.txt', type: '0', data: 'pwned' }]))),
    });
    server = await startServer({
      APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true',
      APPSTREAMD_MAX_INSTALLER_BYTES: '200000',
      APPSTREAMD_CREATE_APPLICATION_RATE: '1000',
    });
    client = new SignedClient(server.url, server.credentials);
  });

  after(async () => {
    await server.stop();
    await packages.close();
    await removeDir(work);
  });

  test('a .tar.gz package goes New → Building (steps in order) → Active, with Location and typed properties', async () => {
    const res = await createApplication(client, {
      name: 'tar app',
      installerUrl: `${packages.origin}/app.tar.gz`,
      installerParameters: 'echo installed > marker.txt',
      launchPath: '/bin/run.sh',
      launchParameters: '--flag',
      unknownField: 'ignored',
      description: null,
    });
    assert.equal(res.status, 201, res.text);
    const app = res.json;
    assert.equal(res.headers.location, href(app, 'self'));
    assert.equal(app.name, 'tar app');
    assert.equal(app.description, null);
    assert.equal(app.launchCommand, '/bin/run.sh --flag');
    for (const counter of ['applicationErrorCount', 'sessionErrorCount', 'activeSessions', 'availableSessions']) {
      assert.ok(Number.isInteger(app[counter]), `${counter} is an integer`);
    }
    assert.match(app.createdDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(app.logPaths, []);

    const { final, seen } = await pollStatus(client, app, settled);
    assert.equal(final.state, 'Active', JSON.stringify(seen.at(-1)));
    assert.equal(final.buildStep, undefined);
    const building = seen.filter((s) => s.state === 'Building');
    assert.ok(building.length > 0, 'the build was observed in state Building');
    const steps = [...new Set(building.map((s) => s.buildStep))];
    for (const step of steps) assert.ok(STEPS.includes(step), `known step ${step}`);
    assert.ok(steps.includes('Copying'), `Copying observed (slow download); saw ${steps.join(',')}`);
    const order = steps.map((s) => STEPS.indexOf(s));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'steps only move forward');

    const image = path.join(server.dataDir, 'images', app.id);
    assert.ok(statSync(path.join(image, 'bin/run.sh')).mode & 0o111, 'launchPath is executable in the image');
    assert.ok(existsSync(path.join(image, 'marker.txt')), 'installerParameters ran in the package folder');

    const fresh = await client.get(href(app, 'self'));
    assert.equal(fresh.json.availableSessions, 10);
  });

  test('a .zip package becomes Active', async () => {
    const res = await createApplication(client, { name: 'zip app', installerUrl: `${packages.origin}/app.zip`, installerParameters: '', launchCommand: 'app/run.sh -x "y z"' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.launchPath, 'app/run.sh');
    assert.equal(res.json.launchParameters, '-x "y z"');
    const { final } = await pollStatus(client, res.json, settled);
    assert.equal(final.state, 'Active');
  });

  const failures: { name: string; url: (origin: string) => string; body?: Record<string, unknown>; step: string; code: string }[] = [
    { name: 'unreachable URL', url: () => 'http://127.0.0.1:1/app.tgz', step: 'Copying', code: 'InstallerDownloadFailed' },
    { name: '404 URL', url: (o) => `${o}/missing.tgz`, step: 'Copying', code: 'InstallerDownloadFailed' },
    { name: 'oversize package', url: (o) => `${o}/big.bin`, step: 'Copying', code: 'InstallerDownloadFailed' },
    { name: 'corrupt archive', url: (o) => `${o}/corrupt.tgz`, step: 'Installing', code: 'InstallerFailed' },
    { name: 'missing launchPath', url: (o) => `${o}/app.zip`, body: { launchPath: 'app/nope.sh' }, step: 'Provisioning', code: 'ProvisioningFailed' },
    { name: 'non-executable launchPath', url: (o) => `${o}/noexec.tgz`, body: { launchPath: 'run.sh' }, step: 'Provisioning', code: 'ProvisioningFailed' },
    { name: 'failing installerParameters', url: (o) => `${o}/app.zip`, body: { installerParameters: 'exit 7' }, step: 'Installing', code: 'InstallerFailed' },
    { name: 'archive entry escaping the folder', url: (o) => `${o}/escape.tgz`, body: { launchPath: 'run.sh' }, step: 'Installing', code: 'InstallerFailed' },
  ];

  for (const f of failures) {
    test(`${f.name} → Error at ${f.step} with an error record`, async () => {
      const res = await createApplication(client, {
        name: f.name,
        installerUrl: f.url(packages.origin),
        installerParameters: '',
        launchPath: 'app/run.sh',
        ...f.body,
      });
      assert.equal(res.status, 201, res.text);
      const { final } = await pollStatus(client, res.json, settled);
      assert.equal(final.state, 'Error');
      assert.equal(final.buildStep, f.step);
      const app = (await client.get(href(res.json, 'self'))).json;
      assert.equal(app.applicationErrorCount, 1);
      const records = await errorRecords(client, app);
      assert.equal(records.length, 1);
      const record = records[0];
      assert.equal(record.type, 'Application');
      assert.equal(record.errorCode, f.code);
      assert.equal(record.state, 'New');
      assert.ok(record.cause.length > 0 && record.solution.length > 0);
      assert.equal(record.message, `${record.cause} ${record.solution}`);
      assert.equal(record.sessionId, null);
      assert.equal(href(record, 'collection'), href(app, 'application:errors'));
      const again = await client.get(href(record, 'self'));
      assert.equal(again.json.state, 'Read');
      assert.ok(!existsSync(path.join(server.dataDir, 'images', app.id)), 'no image left behind');
    });
  }

  test('an archive entry with ../ writes nothing outside the data folder', () => {
    assert.ok(!existsSync(path.join(server.dataDir, 'escaped.txt')));
    assert.ok(!existsSync(path.join(server.dataDir, 'build', 'escaped.txt')));
    assert.ok(!existsSync(path.join(server.dataDir, '..', 'escaped.txt')));
  });
});
