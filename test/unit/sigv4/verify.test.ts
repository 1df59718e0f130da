import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import {
  verifySigV4,
  type SignedRequest,
  type StoredCredential,
  type VerifyOptions,
} from '../../../src/auth/sigv4/verify.js';
import { assertRejectsApiError } from './assert-api-error.js';
import { signWithSmithy, type SigningInput } from './smithy-signer.js';

const NOW = new Date('2015-08-30T12:36:00Z');
const MINUTE = 60 * 1000;
const CREDENTIAL: StoredCredential = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test/secret+key', accountId: '111122223333' };

function options(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    region: 'us-east-1',
    service: 'appstream',
    now: () => NOW,
    lookupCredential: async (id) => (id === CREDENTIAL.accessKeyId ? CREDENTIAL : undefined),
    ...overrides,
  };
}

function sign(overrides: Partial<SigningInput> = {}): Promise<SignedRequest> {
  return signWithSmithy({
    method: 'POST',
    path: '/applications',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from('{"name":"notepad"}'),
    date: NOW,
    accessKeyId: CREDENTIAL.accessKeyId,
    secretAccessKey: CREDENTIAL.secretAccessKey,
    region: 'us-east-1',
    service: 'appstream',
    ...overrides,
  });
}

/** Replaces the value of every header called `name` (case-insensitive), or appends it. */
function setHeader(req: SignedRequest, name: string, value: string): SignedRequest {
  const raw = [...req.rawHeaders];
  let found = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === name) {
      raw[i + 1] = value;
      found = true;
    }
  }
  if (!found) raw.push(name, value);
  return { ...req, rawHeaders: raw };
}

function removeHeader(req: SignedRequest, name: string): SignedRequest {
  const raw: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() !== name) raw.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  return { ...req, rawHeaders: raw };
}

function authorizationOf(req: SignedRequest): string {
  const index = req.rawHeaders.findIndex((value, i) => i % 2 === 0 && value.toLowerCase() === 'authorization');
  return req.rawHeaders[index + 1];
}

function editAuthorization(req: SignedRequest, edit: (value: string) => string): SignedRequest {
  return setHeader(req, 'authorization', edit(authorizationOf(req)));
}

/**
 * A signer written out step by step in the test with node:crypto (independent of the
 * code under test), for forms the SDK signer cannot produce, e.g. a `Date`-header timestamp.
 */
function handSign(opts: { dateHeader: string; amzDate: string; scopeDate: string; path?: string }): SignedRequest {
  const path = opts.path ?? '/';
  const emptyHash = createHash('sha256').update('').digest('hex');
  const canonical = `GET\n${path}\n\ndate:${opts.dateHeader}\nhost:example.amazonaws.com\n\ndate;host\n${emptyHash}`;
  const scope = `${opts.scopeDate}/us-east-1/appstream/aws4_request`;
  const sts = `AWS4-HMAC-SHA256\n${opts.amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  let key: Buffer = createHmac('sha256', `AWS4${CREDENTIAL.secretAccessKey}`).update(opts.scopeDate).digest();
  for (const part of ['us-east-1', 'appstream', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(sts).digest('hex');
  return {
    method: 'GET',
    url: path,
    rawHeaders: [
      'Host', 'example.amazonaws.com',
      'Date', opts.dateHeader,
      'Authorization', `AWS4-HMAC-SHA256 Credential=${CREDENTIAL.accessKeyId}/${scope}, SignedHeaders=date;host, Signature=${signature}`,
    ],
    body: Buffer.alloc(0),
  };
}

describe('verifySigV4 accepts', () => {
  test('a request signed by the AWS SDK signer, returning the account', async () => {
    assert.deepEqual(await verifySigV4(await sign(), options()), {
      accessKeyId: CREDENTIAL.accessKeyId,
      accountId: CREDENTIAL.accountId,
    });
  });

  test('without x-amz-content-sha256 (body hash from the bytes)', async () => {
    await verifySigV4(await sign({ applyChecksum: false }), options());
  });

  test('a GET with query parameters and an encoded path', async () => {
    await verifySigV4(
      await sign({ method: 'GET', path: '/applications/a%20b', query: { limit: '5', next: 'a+b/c=' }, body: Buffer.alloc(0) }),
      options(),
    );
  });

  test('with a signed session token', async () => {
    await verifySigV4(await sign({ sessionToken: 'token-value' }), options());
  });

  test('a path signed as received (curl --aws-sigv4 style, encoded only once)', async () => {
    // Signed over the wire path itself, not encoded once more.
    const signed = handSign({ dateHeader: '20150830T123600Z', amzDate: '20150830T123600Z', scopeDate: '20150830', path: '/a%20b' });
    await verifySigV4(signed, options());
  });

  test('a Date header in ISO 8601 basic form', async () => {
    await verifySigV4(handSign({ dateHeader: '20150830T123600Z', amzDate: '20150830T123600Z', scopeDate: '20150830' }), options());
  });

  test('a Date header in RFC 1123 form (string to sign uses ISO 8601 basic)', async () => {
    await verifySigV4(
      handSign({ dateHeader: 'Sun, 30 Aug 2015 12:36:00 GMT', amzDate: '20150830T123600Z', scopeDate: '20150830' }),
      options(),
    );
  });

  test('14 minutes of skew either way', async () => {
    for (const offset of [-14, 14]) {
      await verifySigV4(await sign({ date: new Date(NOW.getTime() + offset * MINUTE) }), options());
    }
  });
});

describe('verifySigV4 rejects, each rule with its code', () => {
  const rows: Array<{ name: string; code: Parameters<typeof assertRejectsApiError>[1]; make: () => Promise<SignedRequest>; opts?: Partial<VerifyOptions>; mentions?: RegExp }> = [
    // 1
    { name: 'no Authorization header', code: 'MissingAuthenticationTokenException', make: async () => removeHeader(await sign(), 'authorization') },
    // 2
    { name: 'malformed Authorization', code: 'IncompleteSignatureException', make: async () => editAuthorization(await sign(), (v) => v.replace(/, Signature=.*/, '')) },
    { name: 'unsupported algorithm', code: 'IncompleteSignatureException', make: async () => editAuthorization(await sign(), (v) => v.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512')) },
    { name: 'two Authorization headers', code: 'IncompleteSignatureException', make: async () => { const r = await sign(); return { ...r, rawHeaders: [...r.rawHeaders, 'Authorization', authorizationOf(r)] }; } },
    { name: 'host not signed', code: 'IncompleteSignatureException', make: async () => editAuthorization(await sign(), (v) => v.replace('SignedHeaders=content-type;host;', 'SignedHeaders=content-type;')), mentions: /host/i },
    { name: 'no date header', code: 'IncompleteSignatureException', make: async () => removeHeader(await sign(), 'x-amz-date') },
    { name: 'x-amz-date unparseable', code: 'IncompleteSignatureException', make: async () => setHeader(await sign(), 'x-amz-date', '2015-08-30T12:36:00Z') },
    { name: 'timestamp header not signed', code: 'IncompleteSignatureException', make: async () => editAuthorization(await sign(), (v) => v.replace(';x-amz-date', '')), mentions: /x-amz-date/ },
    { name: 'x-amz-security-token present but not signed', code: 'IncompleteSignatureException', make: async () => setHeader(await sign(), 'x-amz-security-token', 'late-token'), mentions: /Security-Token/ },
    // 3
    { name: 'timestamp 16 minutes in the past', code: 'RequestExpired', make: () => sign({ date: new Date(NOW.getTime() - 16 * MINUTE) }) },
    { name: 'timestamp 16 minutes in the future', code: 'RequestExpired', make: () => sign({ date: new Date(NOW.getTime() + 16 * MINUTE) }) },
    { name: 'custom maxSkewMs', code: 'RequestExpired', make: () => sign({ date: new Date(NOW.getTime() - 2 * MINUTE) }), opts: { maxSkewMs: MINUTE } },
    // 4
    { name: 'unknown access key', code: 'UnrecognizedClientException', make: () => sign({ accessKeyId: 'AKIDUNKNOWN' }) },
    // 5
    { name: 'scope date differs from the request date', code: 'InvalidSignatureException', make: async () => editAuthorization(await sign(), (v) => v.replace('/20150830/', '/20150829/')), mentions: /20150829/ },
    { name: 'wrong region', code: 'InvalidSignatureException', make: () => sign({ region: 'eu-west-1' }), mentions: /region.*eu-west-1/ },
    { name: 'wrong service', code: 'InvalidSignatureException', make: () => sign({ service: 'appstream2' }), mentions: /service.*appstream2/ },
    { name: 'wrong terminator', code: 'InvalidSignatureException', make: async () => editAuthorization(await sign(), (v) => v.replace('/aws4_request', '/aws4_requesT')), mentions: /terminator/ },
    { name: 'x-amz-content-sha256 does not match the body', code: 'InvalidSignatureException', make: async () => ({ ...(await sign()), body: Buffer.from('{"name":"notepaD"}') }), mentions: /x-amz-content-sha256/ },
    { name: 'body changed, no content hash header', code: 'InvalidSignatureException', make: async () => ({ ...(await sign({ applyChecksum: false })), body: Buffer.from('{}') }), mentions: /does not match/ },
    { name: 'wrong secret', code: 'InvalidSignatureException', make: () => sign({ secretAccessKey: 'other' }) },
    { name: 'signed header value changed', code: 'InvalidSignatureException', make: async () => setHeader(await sign(), 'content-type', 'application/hal+json') },
    { name: 'signed header removed', code: 'InvalidSignatureException', make: async () => removeHeader(await sign(), 'content-type'), mentions: /not present.*content-type/ },
    { name: 'path changed', code: 'InvalidSignatureException', make: async () => ({ ...(await sign()), url: '/applications/x' }) },
    { name: 'query added', code: 'InvalidSignatureException', make: async () => ({ ...(await sign()), url: '/applications?x=1' }) },
    { name: 'method changed', code: 'InvalidSignatureException', make: async () => ({ ...(await sign()), method: 'PUT' }) },
    { name: 'signature altered', code: 'InvalidSignatureException', make: async () => editAuthorization(await sign(), (v) => v.replace(/Signature=(.)/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`)) },
  ];
  for (const row of rows) {
    test(`${row.name} -> ${row.code}`, async () => {
      const error = await assertRejectsApiError(verifySigV4(await row.make(), options(row.opts)), row.code);
      if (row.mentions !== undefined) assert.match(error.message, row.mentions);
    });
  }

  test('an unparseable Date header (no x-amz-date) -> IncompleteSignatureException', async () => {
    const signed = handSign({ dateHeader: 'Sun, 30 Aug 2015 12:36:00 UTC', amzDate: '20150830T123600Z', scopeDate: '20150830' });
    await assertRejectsApiError(verifySigV4(signed, options()), 'IncompleteSignatureException');
  });

  test('the mismatch message never contains the secret or the expected signature', async () => {
    const good = await sign();
    const expected = /Signature=([0-9a-f]{64})/.exec(authorizationOf(good))![1];
    const tampered = editAuthorization(good, (v) => v.replace(expected, 'f'.repeat(64)));
    const error = await assertRejectsApiError(verifySigV4(tampered, options()), 'InvalidSignatureException');
    assert.ok(!error.message.includes(expected));
    assert.ok(!error.message.includes(CREDENTIAL.secretAccessKey));
    assert.match(error.message, /Canonical String/);
  });
});

describe('verifySigV4 precedence (spec §4.5)', () => {
  test('Missing beats everything else', async () => {
    const r = removeHeader(await sign({ date: new Date(0), accessKeyId: 'NOPE' }), 'authorization');
    await assertRejectsApiError(verifySigV4(r, options()), 'MissingAuthenticationTokenException');
  });
  test('Incomplete beats RequestExpired', async () => {
    const r = editAuthorization(await sign({ date: new Date(NOW.getTime() - 60 * MINUTE) }), (v) => v.replace('content-type;host;', 'content-type;'));
    await assertRejectsApiError(verifySigV4(r, options()), 'IncompleteSignatureException');
  });
  test('RequestExpired beats UnrecognizedClient', async () => {
    const r = await sign({ date: new Date(NOW.getTime() - 60 * MINUTE), accessKeyId: 'NOPE' });
    await assertRejectsApiError(verifySigV4(r, options()), 'RequestExpired');
  });
  test('UnrecognizedClient beats InvalidSignature (wrong region)', async () => {
    const r = await sign({ accessKeyId: 'NOPE', region: 'eu-west-1' });
    await assertRejectsApiError(verifySigV4(r, options()), 'UnrecognizedClientException');
  });
  test('the credential store is not consulted for a request that fails earlier', async () => {
    let lookups = 0;
    const r = await sign({ date: new Date(NOW.getTime() - 60 * MINUTE) });
    await assertRejectsApiError(
      verifySigV4(r, options({ lookupCredential: async () => { lookups++; return CREDENTIAL; } })),
      'RequestExpired',
    );
    assert.equal(lookups, 0);
  });
});
