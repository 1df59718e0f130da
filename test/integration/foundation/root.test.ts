/** The API entry point GET / (§3.1, §2.7, §2.8): links, curies, trailing slashes, 405. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, SignedClient } from '../../helpers/signed-client.js';

const DOCS = 'http://docs.aws.amazon.com/appstream/latest/developerguide';

describe('root resource', () => {
  let server: TestServer;
  let client: SignedClient;

  before(async () => {
    server = await startServer({ APPSTREAMD_LOG_LEVEL: 'warn' });
    client = new SignedClient(server.url, server.credentials);
  });
  after(async () => {
    await server.stop();
  });

  test('GET / has self, three templated curies and appstream:applications', async () => {
    const res = await client.get('/');
    assert.equal(res.status, 200, res.text);
    assert.equal(String(res.headers['content-type']).split(';')[0], 'application/hal+json');
    const links = res.json._links;
    assert.deepEqual(links.self, { href: '/' });
    assert.deepEqual(links.curies, [
      { name: 'appstream', href: `${DOCS}/rest-api-{rel}.html`, templated: true },
      { name: 'application', href: `${DOCS}/rest-api-application-{rel}.html`, templated: true },
      { name: 'session', href: `${DOCS}/rest-api-session-{rel}.html`, templated: true },
    ]);
    assert.equal(typeof links['appstream:applications']?.href, 'string');
    assert.match(links['appstream:applications'].href, /^\/[^{}]*$/, 'a host-relative, untemplated href');
    assert.equal(links['appstream:applications'].templated, undefined);
    // The root has no properties besides _links (§3.1).
    assert.deepEqual(Object.keys(res.json), ['_links']);
  });

  test('appstream:applications leads to the Applications collection', async () => {
    const root = await client.get('/');
    const collection = await client.get(href(root.json, 'appstream:applications'));
    assert.equal(collection.status, 200, collection.text);
    assert.equal(collection.json._links.self.href, root.json._links['appstream:applications'].href);
    assert.ok(Array.isArray(collection.json._links.item));
  });

  test('a trailing slash names the same resource', async () => {
    const root = await client.get('/');
    const applicationsHref = href(root.json, 'appstream:applications');
    const plain = await client.get(applicationsHref);
    const slashed = await client.get(`${applicationsHref}/`);
    assert.equal(slashed.status, 200, slashed.text);
    assert.deepEqual(slashed.json, plain.json);
  });

  test('two trailing slashes are not the same resource', async () => {
    const root = await client.get('/');
    const res = await client.get(`${href(root.json, 'appstream:applications')}//`);
    assertAwsError(res, 404, 'ResourceNotFoundException');
  });

  test('paths are case-sensitive', async () => {
    const root = await client.get('/');
    const res = await client.get(href(root.json, 'appstream:applications').toUpperCase());
    assertAwsError(res, 404, 'ResourceNotFoundException');
  });

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    test(`${method} / → 405 with Allow: GET`, async () => {
      const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : undefined;
      const res = await client.send({ method, path: '/', body });
      assertAwsError(res, 405, 'MethodNotAllowedException');
      assert.equal(res.headers['allow'], 'GET');
    });
  }

  test('405 on the collection lists its methods', async () => {
    const root = await client.get('/');
    const res = await client.send({ method: 'DELETE', path: href(root.json, 'appstream:applications') });
    assertAwsError(res, 405, 'MethodNotAllowedException');
    assert.deepEqual(String(res.headers['allow']).split(/,\s*/).sort(), ['GET', 'POST']);
  });

  test('a query string on / is ignored', async () => {
    const res = await client.get('/?foo=bar');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json._links.self.href, '/');
  });
});
