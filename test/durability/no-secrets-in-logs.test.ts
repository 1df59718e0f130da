/**
 * A representative flow at the most verbose log level, then every log line is scanned: no
 * secret access key, entitlement token, connect token or resume secret appears, plain or
 * URL-encoded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { assertAwsError } from '../helpers/assert-error.js';
import { startServer } from '../helpers/server.js';
import { href, rawRequest, SignedClient } from '../helpers/signed-client.js';
import { attach } from '../helpers/streaming.js';
import { killSessionPrograms, startPackages, waitUntil } from './support.js';

/** The forms a secret could take in a log line. */
function forms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), encodeURIComponent(encodeURIComponent(secret)), secret.replace(/\//g, '%2F')])];
}

describe('no secrets in logs', () => {
  test('a full flow logs none of the secrets it handles', { timeout: 90_000 }, async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-logs-'));
    const packages = await startPackages(work);
    packages.release();
    const server = await startServer({ APPSTREAMD_LOG_LEVEL: 'trace', APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'true' });
    const secrets = new Map<string, string>(); // secret -> what it is
    const sessionIds: string[] = [];
    try {
      secrets.set(server.credentials.secretAccessKey, 'secret access key');
      const client = new SignedClient(server.url, server.credentials);

      // CLI-like account creation.
      const other = await server.app.accounts.createAccountWithKey('cli-made');
      secrets.set(other.secretAccessKey, 'secret access key (second account)');
      assert.equal((await new SignedClient(server.url, other).get('/')).status, 200);

      // A failed authentication with a wrong secret (the wrong secret must not be logged either).
      const wrongSecret = 'wrongSecretThatMustNotBeLogged/0123456789';
      secrets.set(wrongSecret, 'wrong secret');
      assertAwsError(await new SignedClient(server.url, { accessKeyId: server.credentials.accessKeyId, secretAccessKey: wrongSecret }).get('/'), 403, 'InvalidSignatureException');

      // Create, install, entitle, redeem, attach, resume, attach again, terminate.
      const collection = (await client.get(href((await client.get('/')).json, 'appstream:applications'))).json;
      const created = await client.postJson(href(collection, 'application:create'), { name: 'logged', installerUrl: packages.fastUrl, installerParameters: '', launchPath: 'bin/run.sh' });
      assert.equal(created.status, 201, created.text);
      await waitUntil('Active', async () => (await client.get(href(created.json, 'application:status'))).json.state === 'Active', 60_000);

      const entitled = await client.postJson(href(created.json, 'session:entitle'), { opaqueData: 'opaque' });
      assert.equal(entitled.status, 201, entitled.text);
      sessionIds.push(entitled.json.id);
      const entitlementUrl = new URL(entitled.json.entitlementUrl);
      const entitlementToken = decodeURIComponent(entitlementUrl.pathname.split('/').pop()!);
      secrets.set(entitlementToken, 'entitlement token');
      // The viewer page and the redemption, both carrying the token in the path.
      await rawRequest(entitlementUrl.origin, { method: 'GET', path: entitlementUrl.pathname, headers: { accept: 'text/html' } });
      const redeemed = await rawRequest(entitlementUrl.origin, { method: 'POST', path: entitlementUrl.pathname, headers: { 'content-length': '0' } });
      assert.equal(redeemed.status, 200, redeemed.text);
      secrets.set(redeemed.json.connectToken, 'connect token');
      secrets.set(redeemed.json.resumeSecret, 'resume secret');

      const first = await attach(redeemed.json);
      await first.waitFor(/ready/);
      first.ws.terminate();
      await first.closed;

      // A bad resume secret, then the real one.
      const badResume = JSON.stringify({ resumeSecret: 'notTheResumeSecretButStillSecret123' });
      secrets.set('notTheResumeSecretButStillSecret123', 'wrong resume secret');
      const refused = await rawRequest(entitlementUrl.origin, { method: 'POST', path: `${entitlementUrl.pathname}/resume`, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(badResume)) }, body: badResume });
      assert.ok(refused.status >= 400, refused.text);
      const resumeBody = JSON.stringify({ resumeSecret: redeemed.json.resumeSecret });
      const resumed = await rawRequest(entitlementUrl.origin, { method: 'POST', path: `${entitlementUrl.pathname}/resume`, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(resumeBody)) }, body: resumeBody });
      assert.equal(resumed.status, 200, resumed.text);
      secrets.set(resumed.json.connectToken, 'connect token (after resume)');
      const second = await attach({ streamUrl: resumed.json.streamUrl ?? redeemed.json.streamUrl, connectToken: resumed.json.connectToken });
      second.ws.send(Buffer.from('hello\r'), { binary: true });

      const terminated = await client.putJson(href(entitled.json, 'session:terminate'), { state: 'Terminated' });
      assert.equal(terminated.status, 200, terminated.text);
      await second.closed;
      // A used token presented again (refused, but it reaches the logs' request line).
      const again = await rawRequest(entitlementUrl.origin, { method: 'POST', path: entitlementUrl.pathname, headers: { 'content-length': '0' } });
      assert.ok(again.status >= 400, again.text);
    } finally {
      await server.stop();
      killSessionPrograms(sessionIds);
      await packages.close();
      rmSync(work, { recursive: true, force: true });
    }

    assert.ok(server.logs.length > 30, `only ${server.logs.length} log lines`);
    assert.ok(server.logs.some((l) => l.includes('/entitlements/')), 'the entitlement requests were logged (masked)');
    for (const [secret, what] of secrets) {
      assert.ok(secret.length >= 16, `${what} is long enough to be searched for`);
      for (const form of forms(secret)) {
        const line = server.logs.find((l) => l.includes(form));
        assert.equal(line, undefined, `the ${what} appears in a log line: ${line}`);
      }
    }
  });
});
