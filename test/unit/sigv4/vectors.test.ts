/**
 * The official SigV4 vectors (../shared/testdata/sigv4, see its README.md), both suites,
 * header form. Every expected value is read from the vector files.
 *
 * Cases not run as "accept", with the reason:
 * - aws-c-auth `query-*` files of every case: the query-string (presigned URL) form;
 *   this server accepts the Authorization-header form only (spec §2.3). One skipped
 *   test per case below says so.
 * - `post-sts-header-after` (both suites): the session token is added after signing,
 *   so it is not in SignedHeaders. The vector expects acceptance, but spec §2.2 /
 *   §4.5 require a present `x-amz-security-token` to be signed, so the verifier must
 *   answer IncompleteSignatureException; the test asserts that. Its canonical request,
 *   string to sign and signature are still checked.
 * - `*-unnormalized` (aws-c-auth, `"normalize": false`) are S3-style; they are not
 *   skipped: the verifier also accepts the unnormalised path forms, so their canonical
 *   request is checked against the `encoded` path form and they must verify.
 * - `get-header-value-multiline`: obs-fold cannot reach a Node server; the raw-file
 *   parser maps it per suite (see ObsFold in vector-files.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isApiError } from '../../../src/errors/api-error.js';
import { buildCanonicalHeaders } from '../../../src/auth/sigv4/canonical-headers.js';
import { canonicalPath, type PathForm } from '../../../src/auth/sigv4/canonical-path.js';
import { canonicalQueryString } from '../../../src/auth/sigv4/canonical-query.js';
import {
  buildCanonicalRequest,
  canonicalRequestCandidates,
  splitRequestTarget,
} from '../../../src/auth/sigv4/canonical-request.js';
import { parseAuthorization } from '../../../src/auth/sigv4/parse-authorization.js';
import { pickRequestDate } from '../../../src/auth/sigv4/request-date.js';
import { sha256Hex } from '../../../src/auth/sigv4/sha256.js';
import { computeSignature } from '../../../src/auth/sigv4/signature.js';
import { deriveSigningKey } from '../../../src/auth/sigv4/signing-key.js';
import { buildStringToSign } from '../../../src/auth/sigv4/string-to-sign.js';
import { verifySigV4, type StoredCredential, type VerifyOptions } from '../../../src/auth/sigv4/verify.js';
import {
  listClassicCases,
  listCrtCases,
  parseRawRequest,
  rawHeader,
  withoutAuthorization,
  type CrtContext,
  type RawRequestFile,
} from './vector-files.js';

/** The case whose token is added after signing (see the header comment). */
const UNSIGNED_TOKEN_CASE = 'post-sts-header-after';
const ACCOUNT_ID = '123456789012';

const crtCases = listCrtCases();
// Both suites share the fixed inputs (README "Fixed inputs"); take them from a context.json.
const sharedContext: CrtContext = crtCases.find((c) => c.name === 'get-vanilla')!.context;

function optionsFor(context: CrtContext): VerifyOptions {
  const stored: StoredCredential = {
    accessKeyId: context.credentials.access_key_id,
    secretAccessKey: context.credentials.secret_access_key,
    accountId: ACCOUNT_ID,
  };
  return {
    region: context.region,
    service: context.service,
    now: () => new Date(context.timestamp),
    lookupCredential: async (id) => (id === stored.accessKeyId ? stored : undefined),
  };
}

interface Computed {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

/** Runs the individual steps on a request whose signed headers and scope come from `authorization`. */
function computeSteps(request: RawRequestFile, authorization: string, form: PathForm, context: CrtContext): Computed {
  const auth = parseAuthorization(authorization);
  const target = splitRequestTarget(request.target);
  const headers = buildCanonicalHeaders(request.rawHeaders, auth.signedHeaders);
  assert.deepEqual(headers.missing, [], 'every signed header is present');
  const canonicalRequest = buildCanonicalRequest({
    method: request.method,
    canonicalPath: canonicalPath(target.path, form),
    canonicalQuery: canonicalQueryString(target.query),
    canonicalHeaders: headers.block,
    signedHeaderList: headers.signedHeaderList,
    payloadHash: sha256Hex(request.body),
  });
  const stringToSign = buildStringToSign(pickRequestDate(request.rawHeaders).amzDate, auth.scopeString, canonicalRequest);
  const key = deriveSigningKey(context.credentials.secret_access_key, auth.scope.date, auth.scope.region, auth.scope.service);
  // The candidate set the verifier tries must contain the canonical request computed here.
  const { candidates } = canonicalRequestCandidates({
    method: request.method,
    url: request.target,
    rawHeaders: request.rawHeaders,
    signedHeaders: auth.signedHeaders,
    payloadHash: sha256Hex(request.body),
  });
  assert.ok(
    candidates.some((candidate) => candidate.canonicalRequest === canonicalRequest),
    'the verifier candidates include this canonical request',
  );
  return { canonicalRequest, stringToSign, signature: computeSignature(key, stringToSign) };
}

async function assertVerifies(name: string, signed: RawRequestFile, context: CrtContext): Promise<void> {
  const request = { method: signed.method, url: signed.target, rawHeaders: signed.rawHeaders, body: signed.body };
  if (name.endsWith(UNSIGNED_TOKEN_CASE)) {
    await assert.rejects(verifySigV4(request, optionsFor(context)), (error: unknown) => {
      assert.ok(isApiError(error));
      assert.equal(error.code, 'IncompleteSignatureException');
      return true;
    });
    return;
  }
  const identity = await verifySigV4(request, optionsFor(context));
  assert.deepEqual(identity, { accessKeyId: context.credentials.access_key_id, accountId: ACCOUNT_ID });
}

const text = (bytes: Buffer): string => bytes.toString('utf8');

describe('aws-sig-v4-test-suite (classic, header form)', () => {
  const cases = listClassicCases();
  test('all 31 cases are found', () => assert.equal(cases.length, 31));

  for (const vector of cases) {
    test(`${vector.name}: canonical request, string to sign, signature`, () => {
      const request = parseRawRequest(vector.file('req'), 'repeat-header');
      // Non-S3: the path is normalised and encoded once (README "normalize-path").
      const computed = computeSteps(request, text(vector.file('authz')), 'normalized-encoded', sharedContext);
      assert.equal(computed.canonicalRequest, text(vector.file('creq')));
      assert.equal(computed.stringToSign, text(vector.file('sts')));
      assert.equal(computed.signature, parseAuthorization(text(vector.file('authz'))).signature);
    });

    test(`${vector.name}: verifySigV4 on the signed request`, async () => {
      await assertVerifies(vector.name, parseRawRequest(vector.file('sreq'), 'repeat-header'), sharedContext);
    });
  }
});

describe('aws-signing-test-suite/v4 (aws-c-auth, header form)', () => {
  test('all 38 cases are found', () => assert.equal(crtCases.length, 38));

  for (const vector of crtCases) {
    const { context } = vector;
    test(`${vector.name}: canonical request, string to sign, signature`, () => {
      // request.txt carries no X-Amz-Date; the signed request has it (and the token/body hash headers).
      const signed = parseRawRequest(vector.file('header-signed-request.txt'), 'space');
      const authorization = rawHeader(signed.rawHeaders, 'authorization');
      assert.ok(authorization !== undefined);
      const unsigned = { ...signed, rawHeaders: withoutAuthorization(signed.rawHeaders) };
      const form: PathForm = context.normalize ? 'normalized-encoded' : 'encoded';
      const computed = computeSteps(unsigned, authorization, form, context);
      assert.equal(computed.canonicalRequest, text(vector.file('header-canonical-request.txt')));
      assert.equal(computed.stringToSign, text(vector.file('header-string-to-sign.txt')));
      assert.equal(computed.signature, text(vector.file('header-signature.txt')));
    });

    test(`${vector.name}: verifySigV4 on the signed request`, async () => {
      await assertVerifies(vector.name, parseRawRequest(vector.file('header-signed-request.txt'), 'space'), context);
    });

    test.skip(`${vector.name}: query-string (presigned) form — not supported, header form only (spec §2.3)`);
  }
});
