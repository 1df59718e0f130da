/**
 * Installer URLs may not reach the host, the local network or a metadata service unless the
 * operator allows private installer hosts (the default is not to). A refused URL must fail the
 * build at Copying without a single request reaching the target.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { errorRecords, pollStatus, settled } from '../../helpers/hal-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, SignedClient } from '../../helpers/signed-client.js';
import { makeTarGz, makeTempDir, removeDir, serveBytes, startServer as startPackageServer, type TestServer as PackageServer } from '../../helpers/packages.js';
import { collectionOf, countingListener, createOk, fetchOk } from './support.js';

describe('installer URLs and private addresses', () => {
  let server: TestServer;
  let client: SignedClient;
  let packages: PackageServer;
  let v6: Awaited<ReturnType<typeof countingListener>>;
  let work: string;

  before(async () => {
    work = await makeTempDir();
    const tgz = await makeTarGz(work, [{ path: 'bin/run.sh', content: '#!/bin/sh\n', mode: 0o755 }]);
    packages = await startPackageServer({ '/app.tgz': serveBytes(tgz) });
    v6 = await countingListener('::1');
    server = await startServer({ APPSTREAMD_CREATE_APPLICATION_RATE: '1000' });
    assert.equal(server.settings.allowPrivateInstallerHosts, false, 'private installer hosts are refused by default');
    client = new SignedClient(server.url, server.credentials);
  });

  after(async () => {
    await server?.stop();
    await packages?.close();
    await v6?.close();
    if (work) await removeDir(work);
  });

  const targets: { name: string; url: () => string }[] = [
    { name: '127.0.0.1 (the package server)', url: () => `http://127.0.0.1:${packages.port}/app.tgz` },
    { name: '[::1]', url: () => `http://[::1]:${v6.port}/app.tgz` },
    { name: 'localhost', url: () => `http://localhost:${packages.port}/app.tgz` },
    { name: '10.0.0.1 (private)', url: () => 'http://10.0.0.1/app.tgz' },
    { name: '169.254.169.254 (metadata service)', url: () => 'http://169.254.169.254/latest/meta-data/' },
    { name: 'IPv4-mapped ::ffff:127.0.0.1', url: () => `http://[::ffff:127.0.0.1]:${packages.port}/app.tgz` },
    { name: 'https to 127.0.0.1', url: () => `https://127.0.0.1:${packages.port}/app.tgz` },
  ];

  for (const t of targets) {
    test(`${t.name} → Error at Copying with InstallerDownloadFailed, nothing contacted`, async () => {
      const app = await createOk(client, { name: t.name, installerUrl: t.url(), installerParameters: '', launchPath: 'bin/run.sh' });
      const { final } = await pollStatus(client, app, settled);
      assert.equal(final.state, 'Error', JSON.stringify(final));
      assert.equal(final.buildStep, 'Copying');
      const records = await errorRecords(client, app);
      assert.equal(records.length, 1);
      assert.equal(records[0].type, 'Application');
      assert.equal(records[0].errorCode, 'InstallerDownloadFailed');
      // Refused by policy, not by a failed connection.
      assert.match(`${records[0].cause} ${records[0].solution}`, /not allowed|private/i, records[0].cause);
      assert.equal((await fetchOk(client, href(app, 'self'))).applicationErrorCount, 1);
      assert.equal(packages.requests(), 0, 'the loopback package server saw no request');
      assert.equal(v6.requests(), 0, 'the [::1] listener saw no request');
    });
  }

  test('file:///etc/passwd → 400 ValidationException at create, nothing stored', async () => {
    const before = (await collectionOf(client))._links.item.length;
    const res = await client.postJson(href(await collectionOf(client), 'application:create'), {
      name: 'passwd',
      installerUrl: 'file:///etc/passwd',
      installerParameters: '',
      launchPath: 'bin/run.sh',
    });
    assertAwsError(res, 400, 'ValidationException');
    assert.match(res.json.message, /installerUrl/);
    assert.equal((await collectionOf(client))._links.item.length, before);
  });

  // The control: the same loopback URL does reach the package server once the operator allows it,
  // so the zero counts above are the policy at work and not an unreachable server.
  test('with APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS=true the same URL is downloaded', async () => {
    const permissive = await startServer({ APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true' });
    try {
      const other = new SignedClient(permissive.url, permissive.credentials);
      const app = await createOk(other, { name: 'allowed', installerUrl: `http://127.0.0.1:${packages.port}/app.tgz`, installerParameters: '', launchPath: 'bin/run.sh' });
      const { final } = await pollStatus(other, app, settled);
      assert.equal(final.state, 'Active', JSON.stringify(final));
      assert.equal(packages.requests(), 1);
    } finally {
      await permissive.stop();
    }
  });
});
