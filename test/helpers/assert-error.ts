/**
 * One assertion for every AWS error response (spec §2.6, §4.3): status, the JSON body
 * `{__type: "com.amazonaws.appstream#<Code>", message}`, and the headers every error
 * carries (x-amzn-RequestId, x-amzn-ErrorType, Content-Type application/json, Date, an
 * exact Content-Length), plus Allow on 405 and Retry-After on 429/503.
 */
import assert from 'node:assert/strict';
import type { RawResponse } from './signed-client.js';

const TYPE_PREFIX = 'com.amazonaws.appstream#';

function header(res: RawResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function assertAwsError(res: RawResponse, status: number, code: string): void {
  const where = `${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, `expected HTTP ${status} ${code}, got ${where}`);

  const body: unknown = res.json;
  assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body), `error body is not a JSON object: ${where}`);
  const { __type, message } = body as Record<string, unknown>;
  assert.equal(__type, TYPE_PREFIX + code, `__type: ${where}`);
  assert.equal(typeof message, 'string', `message must be a string: ${where}`);
  assert.ok((message as string).trim().length > 0, `message must not be empty: ${where}`);

  assert.equal(header(res, 'x-amzn-ErrorType'), code, `x-amzn-ErrorType: ${where}`);
  const requestId = header(res, 'x-amzn-RequestId');
  assert.ok(requestId !== undefined && requestId.length > 0, `x-amzn-RequestId missing: ${where}`);
  const contentType = header(res, 'content-type') ?? '';
  assert.equal(contentType.split(';')[0]!.trim().toLowerCase(), 'application/json', `Content-Type: ${where}`);
  assert.ok(header(res, 'date'), `Date header missing: ${where}`);
  assert.equal(header(res, 'content-length'), String(Buffer.byteLength(res.text)), `Content-Length must equal the body length: ${where}`);

  if (status === 405) assert.ok(header(res, 'allow'), `405 without Allow: ${where}`);
  if (status === 429 || status === 503) {
    assert.match(header(res, 'retry-after') ?? '', /^[1-9]\d*$/, `${status} needs Retry-After in whole seconds: ${where}`);
  }
}
