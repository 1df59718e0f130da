/**
 * Response headers on every response (§2.6, §4.3): a unique x-amzn-RequestId, Date, an
 * exact Content-Length; HAL media type on resources; the AWS error shape on errors;
 * Retry-After on 429.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { href, SignedClient, type RawResponse } from '../../helpers/signed-client.js';
import { findCreateApplicationHref, rawSocketRequest, validApplicationBody, startFoundationServer } from './support.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertCommonHeaders(res: RawResponse): string {
  const id = res.headers['x-amzn-requestid'];
  assert.equal(typeof id, 'string', `no x-amzn-RequestId on ${res.status}`);
  assert.match(id as string, UUID_RE);
  const date = res.headers['date'];
  assert.ok(date, `no Date on ${res.status}`);
  assert.ok(!Number.isNaN(Date.parse(date)), `Date does not parse: ${date}`);
  assert.match(date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, 'Date must be RFC 1123');
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.text)), `Content-Length on ${res.status}`);
  return id as string;
}

function mediaTypeOf(res: RawResponse): string {
  return String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
}

describe('response headers', () => {
  let server: TestServer;
  let client: SignedClient;
  let createHref: string;

  before(async () => {
    ({ server, client, createHref } = await startFoundationServer());
  });
  after(async () => {
    await server.stop();
  });

  test('success and error responses all carry unique ids, Date and exact Content-Length', async () => {
    const host = new URL(server.url).host;
    const root = await client.get('/');
    const collection = await client.get(href(root.json, 'appstream:applications'));
    const created = await client.postJson(createHref, validApplicationBody('headers'));
    const application = await client.get(String(created.headers['location']));
    const successes = [root, collection, created, application];
    const errors: Array<[RawResponse, number, string]> = [
      [await client.send({ path: '/', unsigned: true }), 403, 'MissingAuthenticationTokenException'],
      [await client.get('/nowhere'), 404, 'ResourceNotFoundException'],
      [await client.send({ method: 'PUT', path: '/', body: '{}' }), 405, 'MethodNotAllowedException'],
      [await client.send({ method: 'POST', path: createHref, body: 'x', headers: { 'content-type': 'text/plain' } }), 415, 'UnsupportedMediaTypeException'],
      [await client.send({ method: 'POST', path: createHref, body: '[1]' }), 400, 'SerializationException'],
      [await client.postJson(createHref, { name: 'no installer' }), 400, 'ValidationException'],
      [await client.send({ path: '/', region: 'us-west-2' }), 403, 'InvalidSignatureException'],
      [await rawSocketRequest(server.url, `POST / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), 411, 'LengthRequiredException'],
      [await rawSocketRequest(server.url, `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: -5\r\nConnection: close\r\n\r\n`), 400, 'ValidationException'],
    ];

    const ids = new Set<string>();
    for (const res of successes) {
      assert.ok(res.status === 200 || res.status === 201, `${res.status} ${res.text}`);
      ids.add(assertCommonHeaders(res));
      assert.equal(mediaTypeOf(res), 'application/hal+json');
      assert.equal(res.headers['x-amzn-errortype'], undefined);
    }
    for (const [res, status, code] of errors) {
      assertAwsError(res, status, code);
      ids.add(assertCommonHeaders(res));
    }
    assert.equal(ids.size, successes.length + errors.length, 'every response must have its own request id');
    assert.equal(created.headers['location'], created.json?._links?.self?.href, 'Location is the created resource');
  });

  test('request ids differ across 20 identical requests', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.get('/')));
    assert.equal(new Set(responses.map((r) => assertCommonHeaders(r))).size, 20);
  });

  test('Content-Length counts bytes, not characters', async () => {
    const name = 'héllo wörld ☃ 𝄞';
    const res = await client.postJson(createHref, validApplicationBody(name));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.name, name);
    assertCommonHeaders(res);
    assert.notEqual(Number(res.headers['content-length']), res.text.length);
  });

  test('429 carries Retry-After and the AWS error shape', async (t) => {
    const limited = await startServer({ APPSTREAMD_LOG_LEVEL: 'warn' }); // default 2 creates/s
    try {
      const limitedClient = new SignedClient(limited.url, limited.credentials);
      const target = await findCreateApplicationHref(limitedClient);
      const started = Date.now();
      const responses = await Promise.all([0, 1, 2, 3].map((i) => limitedClient.postJson(target, validApplicationBody(`burst-${i}`))));
      const elapsed = Date.now() - started;
      const throttled = responses.filter((r) => r.status === 429);
      // Four POSTs inside one second against a budget of two: at least two are refused.
      const statuses = responses.map((r) => r.status).join(',');
      if (elapsed >= 1000) {
        t.diagnostic(`machine too slow to judge the window (${elapsed} ms): ${statuses}`);
      } else {
        assert.ok(throttled.length >= 2, `statuses ${statuses}`);
      }
      for (const res of throttled) {
        assertAwsError(res, 429, 'ThrottlingException');
        assertCommonHeaders(res);
      }
    } finally {
      await limited.stop();
    }
  });
});
