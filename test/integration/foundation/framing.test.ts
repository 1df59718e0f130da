/**
 * Framing and decoding abuse over real sockets (§2.2, §2.4, §4.5): each request gets a 4xx
 * in the AWS error shape, never a 5xx, and the server keeps answering afterwards.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { rawRequest, SignedClient } from '../../helpers/signed-client.js';
import { assertStillServing, findCreateApplicationHref, rawSocketRequest, sendPrepared, signRequest, validApplicationBody, startFoundationServer } from './support.js';

const KIB = 1024;

describe('framing and body decoding', () => {
  let server: TestServer;
  let client: SignedClient;
  let createHref: string;
  let host: string;

  before(async () => {
    ({ server, client, createHref } = await startFoundationServer());
    host = new URL(server.url).host;
  });
  afterEach(async () => {
    await assertStillServing(client);
  });
  after(async () => {
    // Nothing above may have been answered with a 5xx or logged as an unhandled error.
    const unhandled = server.logs.filter((l) => l.includes('unhandled error'));
    await server.stop();
    assert.deepEqual(unhandled, []);
  });

  test('POST without Content-Length and not chunked → 411', async () => {
    const res = await rawSocketRequest(server.url, `POST ${createHref} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`);
    assertAwsError(res, 411, 'LengthRequiredException');
  });

  test('PUT without Content-Length → 411', async () => {
    const res = await rawSocketRequest(server.url, `PUT / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assertAwsError(res, 411, 'LengthRequiredException');
  });

  test('body larger than 64 KiB (declared) → 413', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(64 * KIB + 1) });
    const res = await rawRequest(server.url, { method: 'POST', path: createHref, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body });
    assertAwsError(res, 413, 'RequestEntityTooLargeException');
  });

  test('body larger than 64 KiB (chunked) → 413', async () => {
    const chunk = Buffer.alloc(16 * KIB, 'a');
    let payload = '';
    for (let i = 0; i < 5; i++) payload += `${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`;
    payload += '0\r\n\r\n';
    const head = `POST ${createHref} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
    assertAwsError(await rawSocketRequest(server.url, head, payload), 413, 'RequestEntityTooLargeException');
  });

  test('exactly 64 KiB is not rejected as too large', async () => {
    const base = JSON.stringify({ ...validApplicationBody('big'), description: '' });
    const pad = 64 * KIB - Buffer.byteLength(base);
    const body = base.replace('"description":""', `"description":""${' '.repeat(pad)}`);
    assert.equal(Buffer.byteLength(body), 64 * KIB);
    const res = await client.send({ method: 'POST', path: createHref, body });
    assert.equal(res.status, 201, res.text);
  });

  test('text/plain body → 415', async () => {
    const res = await client.send({ method: 'POST', path: createHref, body: JSON.stringify(validApplicationBody()), headers: { 'content-type': 'text/plain' } });
    assertAwsError(res, 415, 'UnsupportedMediaTypeException');
  });

  test('a body with no Content-Type → 415', async () => {
    const res = await rawSocketRequest(server.url, `POST ${createHref} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    assertAwsError(res, 415, 'UnsupportedMediaTypeException');
  });

  describe('the four JSON media types are accepted', () => {
    const types = [
      'application/json',
      'application/x-amz-json-1.0',
      'application/x-amz-json-1.1',
      'application/hal+json',
      'application/json; charset=UTF-8',
      'Application/X-Amz-Json-1.1; charset=utf-8',
    ];
    for (const type of types) {
      test(type, async () => {
        const res = await client.send({ method: 'POST', path: createHref, body: JSON.stringify(validApplicationBody(type)), headers: { 'content-type': type } });
        assert.equal(res.status, 201, res.text);
        assert.equal(res.json?.name, type);
      });
    }
  });

  describe('→ 400 SerializationException', () => {
    const bodies: Array<[string, string | Buffer]> = [
      ['not JSON', 'this is not json'],
      ['truncated JSON', '{"name": "x"'],
      ['not UTF-8', Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
      ['a JSON array', JSON.stringify([validApplicationBody()])],
      ['a JSON string', '"hello"'],
      ['JSON null', 'null'],
      ['empty body', ''],
    ];
    for (const [name, body] of bodies) {
      test(name, async () => {
        const res = await client.send({ method: 'POST', path: createHref, body, headers: { 'content-type': 'application/json' } });
        assertAwsError(res, 400, 'SerializationException');
      });
    }
  });

  test('an unparseable Authorization header → 400 IncompleteSignatureException', async () => {
    for (const value of ['AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256 Credential=,,,=,=', 'AWS4-HMAC-SHA256 \u00e9\u00e9\u00e9', 'Bearer abc']) {
      const res = await rawRequest(server.url, { method: 'GET', path: '/', headers: { authorization: value, 'x-amz-date': '20200101T000000Z' } });
      assertAwsError(res, 400, 'IncompleteSignatureException');
    }
  });

  test('a 16 KiB Authorization header → 400 IncompleteSignatureException', async () => {
    const req = await signRequest(server.url, server.credentials, { path: '/' });
    const huge = `${req.headers['authorization']}${'a'.repeat(16 * KIB)}`;
    const res = await sendPrepared(server.url, { ...req, headers: { ...req.headers, authorization: huge } });
    assertAwsError(res, 400, 'IncompleteSignatureException');
  });

  test('a 16 KiB other header → 4xx unsigned, 200 signed', async () => {
    const big = 'b'.repeat(16 * KIB);
    assertAwsError(await client.send({ path: '/', unsigned: true, headers: { 'x-big-header': big } }), 403, 'MissingAuthenticationTokenException');
    const res = await client.send({ path: '/', headers: { 'x-big-header': big } });
    assert.equal(res.status, 200, res.text);
  });

  test('headers beyond the parser limit (80 KiB) → 413 in AWS shape', async () => {
    const res = await rawSocketRequest(server.url, `GET / HTTP/1.1\r\nHost: ${host}\r\nX-Huge: ${'c'.repeat(80 * KIB)}\r\nConnection: close\r\n\r\n`);
    assertAwsError(res, 413, 'RequestEntityTooLargeException');
  });

  for (const [name, length] of [
    ['negative Content-Length', '-1'],
    ['absurd Content-Length', '99999999999999999999'],
    ['non-numeric Content-Length', 'abc'],
  ] as const) {
    test(`${name} → 400 ValidationException`, async () => {
      const head = `POST ${createHref} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
      const res = await rawSocketRequest(server.url, head, '{}');
      assertAwsError(res, 400, 'ValidationException');
    });
  }

  test('Content-Length larger than the body sent, then the client hangs up → no crash', async () => {
    const head = `POST ${createHref} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`;
    await rawSocketRequest(server.url, head, '{"a":', 300).catch(() => undefined);
  });
});
