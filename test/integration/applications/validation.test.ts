/**
 * Body validation of application:create (§3.3) and application:update (§3.5), over the real
 * server and HAL navigation. Every rejected body must name the offending field.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { pollStatus, settled } from '../../helpers/hal-flow.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, type RawResponse, SignedClient } from '../../helpers/signed-client.js';
import { collectionOf, createOk, fetchOk, monotonicClock } from './support.js';

// Refused by the default address policy before any connection is made: builds fail fast at Copying.
const UNREACHABLE = 'http://127.0.0.1:1/app.tgz';
const VALID = { name: 'valid app', installerUrl: UNREACHABLE, installerParameters: '', launchPath: 'bin/run.sh' };

function without(field: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...VALID };
  delete copy[field];
  return copy;
}

/** 400 ValidationException whose message names `field` as a word. */
function assertNamesField(res: RawResponse, field: string): void {
  assertAwsError(res, 400, 'ValidationException');
  const word = new RegExp(`(^|[^A-Za-z])${field.replace(/[[\]]/g, '\\$&')}([^A-Za-z]|$)`);
  assert.match(res.json.message, word, `message should name ${field}: ${res.json.message}`);
}

const logPaths21 = Array.from({ length: 21 }, (_, i) => `C:\\logs\\app${i}.log`);

const badCreates: { name: string; body: Record<string, unknown>; field: string }[] = [
  { name: 'missing name', body: without('name'), field: 'name' },
  { name: 'name null (null = absent)', body: { ...VALID, name: null }, field: 'name' },
  { name: 'blank name', body: { ...VALID, name: '   ' }, field: 'name' },
  { name: 'empty name', body: { ...VALID, name: '' }, field: 'name' },
  { name: 'name of 101 characters', body: { ...VALID, name: 'n'.repeat(101) }, field: 'name' },
  { name: 'name as number', body: { ...VALID, name: 42 }, field: 'name' },
  { name: 'name as object', body: { ...VALID, name: { first: 'x' } }, field: 'name' },
  { name: 'description of 257 characters', body: { ...VALID, description: 'd'.repeat(257) }, field: 'description' },
  { name: 'missing installerUrl', body: without('installerUrl'), field: 'installerUrl' },
  { name: 'installerUrl not a URL', body: { ...VALID, installerUrl: 'not a url at all' }, field: 'installerUrl' },
  { name: 'installerUrl relative path', body: { ...VALID, installerUrl: '/packages/app.tgz' }, field: 'installerUrl' },
  { name: 'ftp: installerUrl', body: { ...VALID, installerUrl: 'ftp://example.com/app.tgz' }, field: 'installerUrl' },
  { name: 'file: installerUrl without private hosts', body: { ...VALID, installerUrl: 'file:///tmp/app.tgz' }, field: 'installerUrl' },
  {
    name: 'installerUrl of 2049 characters',
    body: { ...VALID, installerUrl: `https://example.com/${'a'.repeat(2049 - 'https://example.com/'.length)}` },
    field: 'installerUrl',
  },
  { name: 'missing installerParameters', body: without('installerParameters'), field: 'installerParameters' },
  { name: 'installerParameters as number', body: { ...VALID, installerParameters: 7 }, field: 'installerParameters' },
  { name: 'installerParameters of 1025 characters', body: { ...VALID, installerParameters: 'x'.repeat(1025) }, field: 'installerParameters' },
  { name: 'missing launchPath and launchCommand', body: without('launchPath'), field: 'launchPath' },
  { name: 'launchPath of 261 characters', body: { ...VALID, launchPath: `/${'p'.repeat(260)}` }, field: 'launchPath' },
  { name: 'launchParameters of 1025 characters', body: { ...VALID, launchParameters: 'a'.repeat(1025) }, field: 'launchParameters' },
  { name: 'logBucket with capitals and underscore', body: { ...VALID, logBucket: 'My_Bucket' }, field: 'logBucket' },
  { name: 'logBucket too short', body: { ...VALID, logBucket: 'ab' }, field: 'logBucket' },
  { name: 'logPaths not an array', body: { ...VALID, logBucket: 'my-logs', logPaths: 'C:\\logs\\app.log' }, field: 'logPaths' },
  { name: 'logPaths entry not under C:\\', body: { ...VALID, logBucket: 'my-logs', logPaths: ['D:\\logs\\app.log'] }, field: 'logPaths' },
  { name: 'logPaths entry relative', body: { ...VALID, logBucket: 'my-logs', logPaths: ['logs\\app.log'] }, field: 'logPaths' },
  { name: 'logPaths entry with |', body: { ...VALID, logBucket: 'my-logs', logPaths: ['C:\\logs\\a|b.log'] }, field: 'logPaths' },
  { name: 'logPaths entry not a string', body: { ...VALID, logBucket: 'my-logs', logPaths: [5] }, field: 'logPaths' },
  { name: '21 logPaths', body: { ...VALID, logBucket: 'my-logs', logPaths: logPaths21 }, field: 'logPaths' },
  { name: 'logPaths without logBucket', body: { ...VALID, logPaths: ['C:\\logs\\app.log'] }, field: 'logBucket' },
  { name: "streamProtocol 'vnc'", body: { ...VALID, streamProtocol: 'vnc' }, field: 'streamProtocol' },
];

describe('application:create and application:update validation', () => {
  let server: TestServer;
  let client: SignedClient;
  let createHref: string;

  before(async () => {
    server = await startServer({ APPSTREAMD_CREATE_APPLICATION_RATE: '1000' }, { now: monotonicClock() });
    client = new SignedClient(server.url, server.credentials);
    createHref = href(await collectionOf(client), 'application:create');
  });

  after(async () => {
    await server?.stop();
  });

  for (const c of badCreates) {
    test(`create: ${c.name} → 400 ValidationException naming ${c.field}`, async () => {
      const res = await client.postJson(createHref, c.body);
      assertNamesField(res, c.field);
    });
  }

  test('create: rejected bodies created nothing', async () => {
    // Every create so far in this file was rejected, so the collection is still empty.
    assert.deepEqual((await collectionOf(client))._links.item, []);
  });

  test('create: explicit nulls are absent, unknown fields are ignored', async () => {
    const app = await createOk(client, {
      ...VALID,
      description: null,
      launchParameters: null,
      logBucket: null,
      logPaths: null,
      streamProtocol: null,
      expirationDuration: 3600,
      somethingElse: { nested: true },
    });
    assert.equal(app.description, null);
    assert.equal(app.launchParameters, '');
    assert.equal(app.logBucket, null);
    assert.deepEqual(app.logPaths, []);
    assert.equal(app.streamProtocol, 'terminal');
    assert.equal('somethingElse' in app, false);
    assert.equal('expirationDuration' in app, false);
  });

  test('create: limits are inclusive (100-char name, 256-char description, 20 logPaths, 2048-char URL)', async () => {
    const url = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
    const app = await createOk(client, {
      ...VALID,
      name: 'n'.repeat(100),
      description: 'd'.repeat(256),
      installerUrl: url,
      launchPath: `/${'p'.repeat(259)}`,
      logBucket: 'my-logs.bucket',
      logPaths: logPaths21.slice(0, 20).concat().map((p, i) => (i === 0 ? 'c:\\Logs\\*.log' : p)),
    });
    assert.equal(app.name.length, 100);
    assert.equal(app.description.length, 256);
    assert.equal(app.installerUrl, url);
    assert.equal(app.logPaths.length, 20);
    assert.equal(app.logBucket, 'my-logs.bucket');
  });

  test('create: empty body → 400 SerializationException', async () => {
    const res = await client.send({ method: 'POST', path: createHref, body: '', headers: { 'content-type': 'application/json' } });
    assertAwsError(res, 400, 'SerializationException');
  });

  test('create: body that is not JSON, or not an object → 400 SerializationException', async () => {
    for (const body of ['{"name": "x",', 'name=x', '[]', '"text"', 'null']) {
      const res = await client.send({ method: 'POST', path: createHref, body });
      assertAwsError(res, 400, 'SerializationException');
    }
  });

  test('create: launchCommand is split (quoted path with spaces) and re-quoted on output', async () => {
    const app = await createOk(client, { ...without('launchPath'), launchCommand: '"/opt/My App/run" -a b' });
    assert.equal(app.launchPath, '/opt/My App/run');
    assert.equal(app.launchParameters, '-a b');
    assert.equal(app.launchCommand, '"/opt/My App/run" -a b');

    const plain = await createOk(client, { ...without('launchPath'), launchCommand: 'bin/run.sh' });
    assert.equal(plain.launchPath, 'bin/run.sh');
    assert.equal(plain.launchParameters, '');
    assert.equal(plain.launchCommand, 'bin/run.sh');

    // launchPath wins over launchCommand when both are given.
    const both = await createOk(client, { ...VALID, launchParameters: '-z', launchCommand: 'other/cmd -q' });
    assert.equal(both.launchPath, VALID.launchPath);
    assert.equal(both.launchParameters, '-z');
    assert.equal(both.launchCommand, 'bin/run.sh -z');
  });

  test("create: streamProtocol 'x11' is accepted and shown", async () => {
    const app = await createOk(client, { ...VALID, streamProtocol: 'x11' });
    assert.equal(app.streamProtocol, 'x11');
    assert.equal((await fetchOk(client, href(app, 'self'))).streamProtocol, 'x11');
  });

  describe('application:update', () => {
    /** A settled application (its build already failed), so only updates change lastUpdatedDate. */
    async function settledApp(extra: Record<string, unknown> = {}): Promise<any> {
      const app = await createOk(client, { ...VALID, name: 'to update', description: 'first', ...extra });
      await pollStatus(client, app, settled);
      return fetchOk(client, href(app, 'self'));
    }

    async function update(app: any, body: unknown): Promise<RawResponse> {
      return client.postJson(href(app, 'application:update'), body);
    }

    test('{} is a no-op: 200, same representation, lastUpdatedDate unchanged', async () => {
      const app = await settledApp();
      const res = await update(app, {});
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, app);
      assert.deepEqual(await fetchOk(client, href(app, 'self')), app);
    });

    test('only the given fields change, and lastUpdatedDate is bumped', async () => {
      const app = await settledApp();
      const res = await update(app, { name: 'renamed' });
      assert.equal(res.status, 200, res.text);
      assert.equal(href(res.json, 'self'), href(app, 'self'));
      assert.equal(res.json.name, 'renamed');
      assert.ok(res.json.lastUpdatedDate > app.lastUpdatedDate, `${res.json.lastUpdatedDate} > ${app.lastUpdatedDate}`);
      const { name: _n, lastUpdatedDate: _d, ...restBefore } = app;
      const { name: _n2, lastUpdatedDate: _d2, ...restAfter } = res.json;
      assert.deepEqual(restAfter, restBefore);
      assert.deepEqual(await fetchOk(client, href(app, 'self')), res.json);

      // Same value again: nothing changed, so the date stays.
      const again = await update(app, { name: 'renamed' });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.json.lastUpdatedDate, res.json.lastUpdatedDate);
    });

    test('every updatable field; launchCommand is split; description "" clears to null', async () => {
      const app = await settledApp();
      const res = await update(app, {
        description: 'second',
        launchCommand: '"/opt/New Dir/go" --fast',
        logBucket: 'log-bucket',
        logPaths: ['C:\\app\\log.txt'],
        streamProtocol: 'x11',
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.description, 'second');
      assert.equal(res.json.launchPath, '/opt/New Dir/go');
      assert.equal(res.json.launchParameters, '--fast');
      assert.equal(res.json.launchCommand, '"/opt/New Dir/go" --fast');
      assert.equal(res.json.logBucket, 'log-bucket');
      assert.deepEqual(res.json.logPaths, ['C:\\app\\log.txt']);
      assert.equal(res.json.streamProtocol, 'x11');

      const params = await update(app, { launchParameters: '' });
      assert.equal(params.json.launchPath, '/opt/New Dir/go');
      assert.equal(params.json.launchCommand, '"/opt/New Dir/go"');

      const cleared = await update(app, { description: '', logPaths: [] });
      assert.equal(cleared.status, 200, cleared.text);
      assert.equal(cleared.json.description, null);
      assert.deepEqual(cleared.json.logPaths, []);
      assert.equal(cleared.json.logBucket, 'log-bucket');

      const noBucket = await update(app, { logBucket: '' });
      assert.equal(noBucket.json.logBucket, null);

      // A null is absent: description stays null, nothing else moves.
      const nulls = await update(app, { description: null, name: null });
      assert.equal(nulls.status, 200, nulls.text);
      assert.equal(nulls.json.name, 'to update');
      assert.equal(nulls.json.lastUpdatedDate, noBucket.json.lastUpdatedDate);
    });

    test('immutable fields (installerUrl, installerParameters, id, counters, dates) are silently ignored', async () => {
      const app = await settledApp();
      const res = await update(app, {
        id: '00000000-0000-4000-8000-000000000000',
        installerUrl: 'https://example.com/other.tgz',
        installerParameters: 'rm -rf /',
        applicationErrorCount: 99,
        createdDate: '2001-01-01T00:00:00.000Z',
        lastUpdatedDate: '2001-01-01T00:00:00.000Z',
      });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json, app);
    });

    const badUpdates: { name: string; body: Record<string, unknown>; field: string }[] = [
      { name: 'empty name', body: { name: '' }, field: 'name' },
      { name: 'blank name', body: { name: '  ' }, field: 'name' },
      { name: 'name of 101 characters', body: { name: 'x'.repeat(101) }, field: 'name' },
      { name: 'name as number', body: { name: 1 }, field: 'name' },
      { name: 'description of 257 characters', body: { description: 'd'.repeat(257) }, field: 'description' },
      { name: 'launchPath of 261 characters', body: { launchPath: 'p'.repeat(261) }, field: 'launchPath' },
      { name: 'launchParameters of 1025 characters', body: { launchParameters: 'p'.repeat(1025) }, field: 'launchParameters' },
      { name: 'logBucket invalid', body: { logBucket: 'UPPER' }, field: 'logBucket' },
      { name: 'logPaths not an array', body: { logBucket: 'ok-bucket', logPaths: {} }, field: 'logPaths' },
      { name: 'logPaths entry with ?', body: { logBucket: 'ok-bucket', logPaths: ['C:\\a?.log'] }, field: 'logPaths' },
      { name: 'logPaths without any logBucket', body: { logPaths: ['C:\\a.log'] }, field: 'logBucket' },
      { name: "streamProtocol 'vnc'", body: { streamProtocol: 'vnc' }, field: 'streamProtocol' },
    ];

    test('invalid updates → 400 ValidationException naming the field, and change nothing', async () => {
      const app = await settledApp();
      for (const c of badUpdates) {
        const res = await update(app, { description: 'must not be applied', ...c.body });
        assertNamesField(res, c.field);
      }
      assert.deepEqual(await fetchOk(client, href(app, 'self')), app);
    });

    test('clearing logBucket while logPaths remain → 400 naming logBucket', async () => {
      const app = await settledApp({ logBucket: 'kept-bucket', logPaths: ['C:\\logs\\a.log'] });
      assertNamesField(await update(app, { logBucket: '' }), 'logBucket');
      // Clearing both at once is fine.
      const res = await update(app, { logBucket: '', logPaths: [] });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.logBucket, null);
      assert.deepEqual(res.json.logPaths, []);
      // logPaths may be set later against the stored bucket.
      const withBucket = await update(app, { logBucket: 'new-bucket' });
      assert.equal(withBucket.status, 200, withBucket.text);
      const paths = await update(app, { logPaths: ['C:\\logs\\b.log'] });
      assert.equal(paths.status, 200, paths.text);
      assert.deepEqual(paths.json.logPaths, ['C:\\logs\\b.log']);
    });

    test('empty body and non-JSON → 400 SerializationException', async () => {
      const app = await settledApp();
      assertAwsError(
        await client.send({ method: 'POST', path: href(app, 'application:update'), body: '', headers: { 'content-type': 'application/json' } }),
        400,
        'SerializationException',
      );
      assertAwsError(await client.send({ method: 'POST', path: href(app, 'application:update'), body: 'nope' }), 400, 'SerializationException');
    });
  });
});
