/** Property tests (fast-check) for the parser, the query canonicaliser and the verifier as a whole. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isApiError } from '../../../src/errors/api-error.js';
import { canonicalQueryString } from '../../../src/auth/sigv4/canonical-query.js';
import { parseAuthorization } from '../../../src/auth/sigv4/parse-authorization.js';
import { verifySigV4, type StoredCredential, type VerifyOptions } from '../../../src/auth/sigv4/verify.js';
import { assertRejectsApiError } from './assert-api-error.js';
import { sdkEscape, signWithSmithy } from './smithy-signer.js';

const NOW = new Date('2015-08-30T12:36:00Z');
const CREDENTIAL: StoredCredential = { accessKeyId: 'AKIDPROP', secretAccessKey: 'prop/secret', accountId: '444455556666' };
const OPTIONS: VerifyOptions = {
  region: 'us-east-1',
  service: 'appstream',
  now: () => NOW,
  lookupCredential: async (id) => (id === CREDENTIAL.accessKeyId ? CREDENTIAL : undefined),
};

describe('parseAuthorization on arbitrary input', () => {
  // Strings made of fragments of valid headers reach deeper into the parser than pure noise.
  const fragment = fc.constantFrom(
    'AWS4-HMAC-SHA256', ' ', ',', ', ', '=', '/', ';', 'Credential=', 'SignedHeaders=', 'Signature=',
    'AKID', '20150830', 'us-east-1', 'service', 'aws4_request', 'host', 'x-amz-date', 'a'.repeat(64), '\t',
  );
  const nearlyValid = fc.array(fc.oneof(fragment, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 30 }).map((parts) => parts.join(''));
  const arbitrary = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), nearlyValid, nearlyValid.map((s) => `AWS4-HMAC-SHA256 ${s}`));

  test('never throws anything but an ApiError (IncompleteSignatureException)', () => {
    fc.assert(
      fc.property(arbitrary, (input) => {
        try {
          const parsed = parseAuthorization(input);
          // When it parses, the result is well-formed.
          assert.match(parsed.signature, /^[0-9a-f]{64}$/);
          assert.equal(parsed.scopeString.split('/').length, 4);
          assert.ok(parsed.signedHeaders.length > 0);
        } catch (error) {
          if (!isApiError(error) || error.code !== 'IncompleteSignatureException') throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('canonicalQueryString', () => {
  const text = fc.string({ unit: 'binary', maxLength: 8 });
  const pairs = fc.array(fc.tuple(text, text, fc.boolean()), { maxLength: 8 });

  test('is the same for every order of the parameters', () => {
    fc.assert(
      fc.property(
        pairs.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))),
        ([original, shuffled]) => {
          // `bare` writes a parameter without `=` when its value is empty (`a` means `a=`).
          const wire = (list: Array<[string, string, boolean]>): string =>
            list.map(([k, v, bare]) => (bare && v === '' ? sdkEscape(k) : `${sdkEscape(k)}=${sdkEscape(v)}`)).join('&');
          assert.equal(canonicalQueryString(wire(shuffled)), canonicalQueryString(wire(original)));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('requests signed by @smithy/signature-v4', () => {
  const segment = fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('.', '..', '') },
    { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  );
  const wirePath = fc
    .tuple(fc.array(segment, { maxLength: 6 }), fc.boolean())
    .map(([segments, trailingSlash]) => {
      const encoded = segments.map((s) => (s === '.' || s === '..' ? s : sdkEscape(s)));
      return `/${encoded.join('/')}${trailingSlash && segments.length > 0 ? '/' : ''}`;
    });
  const headerName = fc
    .tuple(fc.stringMatching(/^[a-z0-9-]{1,12}$/), fc.boolean())
    .map(([name, upper]) => `x-test-${upper ? name.toUpperCase() : name}`);
  // Printable ASCII plus space and tab, the values Node hands over.
  const headerValue = fc.stringMatching(/^[\x20-\x7e\t]{0,40}$/);
  const headers = fc.array(fc.tuple(headerName, headerValue), { maxLength: 5 }).map((list) => {
    const out: Record<string, string> = {};
    const seen = new Set<string>();
    for (const [name, value] of list) {
      if (seen.has(name.toLowerCase())) continue;
      seen.add(name.toLowerCase());
      out[name] = value;
    }
    return out;
  });
  const query = fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 6 }), { maxKeys: 4 });
  const requestInput = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
    path: wirePath,
    headers,
    query,
    body: fc.uint8Array({ maxLength: 300 }),
    applyChecksum: fc.boolean(),
  });

  interface RandomRequest {
    method: string;
    path: string;
    headers: Record<string, string>;
    query: Record<string, string>;
    body: Uint8Array;
    applyChecksum: boolean;
  }

  function sign(input: RandomRequest) {
    return signWithSmithy({
      ...input,
      body: Buffer.from(input.body),
      date: NOW,
      accessKeyId: CREDENTIAL.accessKeyId,
      secretAccessKey: CREDENTIAL.secretAccessKey,
      region: 'us-east-1',
      service: 'appstream',
    });
  }

  test('always verify', async () => {
    await fc.assert(
      fc.asyncProperty(requestInput, async (input) => {
        const identity = await verifySigV4(await sign(input), OPTIONS);
        assert.deepEqual(identity, { accessKeyId: CREDENTIAL.accessKeyId, accountId: CREDENTIAL.accountId });
      }),
      { numRuns: 300 },
    );
  });

  test('fail with InvalidSignatureException when any body byte is flipped', async () => {
    const withFlip = fc.tuple(
      requestInput.filter((input) => input.body.length > 0),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
    );
    await fc.assert(
      fc.asyncProperty(withFlip, async ([input, position, mask]) => {
        const signed = await sign(input);
        const body = Buffer.from(signed.body);
        body[position % body.length] ^= mask;
        await assertRejectsApiError(verifySigV4({ ...signed, body }, OPTIONS), 'InvalidSignatureException');
      }),
      { numRuns: 200 },
    );
  });
});
