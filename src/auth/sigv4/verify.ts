/**
 * SigV4 verification of one request (spec §2.2, §2.3, error precedence §4.5).
 *
 * Flow, each step a small function of its own file:
 *  1. `Authorization` absent -> MissingAuthenticationTokenException.
 *  2. Parse it (parse-authorization.ts); pick the timestamp, `x-amz-date` over `Date`
 *     (request-date.ts); require `host`, the timestamp header and any
 *     `x-amz-security-token` to be signed -> else IncompleteSignatureException.
 *  3. Clock skew beyond `maxSkewMs` either way -> RequestExpired.
 *  4. Look up the access key -> UnrecognizedClientException when unknown.
 *  5. Check the scope (date = request date, region, service, terminator) and
 *     `x-amz-content-sha256` against the body bytes (payload-hash.ts); build the
 *     canonical request candidates (canonical-request.ts: the path as received, encoded
 *     once more, and normalised + encoded once more, which is what AWS SDKs sign), the
 *     string to sign, the signature with the cached signing key; compare in constant
 *     time. Any mismatch -> InvalidSignatureException.
 * Session tokens are not validated: the credential table has none (spec §2.3 item 6).
 */
import { ApiError } from '../../errors/api-error.js';
import { canonicalRequestCandidates } from './canonical-request.js';
import { DEFAULT_MAX_SKEW_MS, SIGV4_TERMINATOR } from './constants.js';
import { parseAuthorization, type ParsedAuthorization } from './parse-authorization.js';
import { resolvePayloadHash } from './payload-hash.js';
import { hasHeader, headerValues } from './raw-headers.js';
import { checkClockSkew, pickRequestDate, type RequestDate } from './request-date.js';
import { computeSignature, signaturesMatch } from './signature.js';
import { SigningKeyCache } from './signing-key.js';
import { buildStringToSign } from './string-to-sign.js';

export interface SignedRequest {
  method: string;
  /** request target exactly as received: path plus optional ?query */
  url: string;
  /** Node's IncomingMessage.rawHeaders: [name, value, name, value, ...] */
  rawHeaders: readonly string[];
  /** raw body bytes (empty Buffer when none) */
  body: Buffer;
}
export interface StoredCredential {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}
export interface VerifyOptions {
  region: string; // configured region; scope must name it
  service: string; // 'appstream' in the server; 'service' in the test vectors
  now: () => Date; // injectable clock
  maxSkewMs?: number; // default 15 * 60 * 1000
  lookupCredential(accessKeyId: string): Promise<StoredCredential | undefined>;
}
export interface VerifiedIdentity {
  accessKeyId: string;
  accountId: string;
}

const signingKeys = new SigningKeyCache(256);

export async function verifySigV4(req: SignedRequest, opts: VerifyOptions): Promise<VerifiedIdentity> {
  const authorizations = headerValues(req.rawHeaders, 'authorization');
  if (authorizations.length === 0) {
    throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token.');
  }
  if (authorizations.length > 1) {
    throw new ApiError('IncompleteSignatureException', 'The request has more than one Authorization header.');
  }
  const auth = parseAuthorization(authorizations[0]);
  const requestDate = checkRequiredSignedHeaders(req.rawHeaders, auth);

  checkClockSkew(requestDate.date, opts.now(), opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS);

  const credential = await opts.lookupCredential(auth.accessKeyId);
  if (credential === undefined) {
    throw new ApiError(
      'UnrecognizedClientException',
      `The security token included in the request is invalid: access key id ${JSON.stringify(auth.accessKeyId)} is not known.`,
    );
  }

  checkScope(auth, requestDate, opts);
  const payloadHash = resolvePayloadHash(req.rawHeaders, req.body);
  const signingKey = signingKeys.get({
    accessKeyId: auth.accessKeyId,
    secretAccessKey: credential.secretAccessKey,
    date: auth.scope.date,
    region: auth.scope.region,
    service: auth.scope.service,
  });
  const { candidates, missingHeaders } = canonicalRequestCandidates({
    method: req.method,
    url: req.url,
    rawHeaders: req.rawHeaders,
    signedHeaders: auth.signedHeaders,
    payloadHash,
  });
  let matched = false;
  for (const candidate of candidates) {
    const stringToSign = buildStringToSign(requestDate.amzDate, auth.scopeString, candidate.canonicalRequest);
    if (signaturesMatch(auth.signature, computeSignature(signingKey, stringToSign))) {
      matched = true;
      break;
    }
  }
  if (!matched) throw signatureMismatch(candidates[0].canonicalRequest, requestDate, auth, missingHeaders);
  return { accessKeyId: auth.accessKeyId, accountId: credential.accountId };
}

/** Step 2: the headers that must be covered by the signature, and the timestamp. */
function checkRequiredSignedHeaders(rawHeaders: readonly string[], auth: ParsedAuthorization): RequestDate {
  const signed = new Set(auth.signedHeaders);
  if (!signed.has('host')) {
    throw new ApiError('IncompleteSignatureException', "'Host' must be a signed header (SignedHeaders lacks 'host').");
  }
  const requestDate = pickRequestDate(rawHeaders);
  if (!signed.has(requestDate.source)) {
    throw new ApiError(
      'IncompleteSignatureException',
      `The request timestamp comes from the '${requestDate.source}' header, which must be a signed header.`,
    );
  }
  if (hasHeader(rawHeaders, 'x-amz-security-token') && !signed.has('x-amz-security-token')) {
    throw new ApiError(
      'IncompleteSignatureException',
      "'X-Amz-Security-Token' is present, so it must be a signed header.",
    );
  }
  return requestDate;
}

/** Step 5 (first part): every scope element must name this request and this server. */
function checkScope(auth: ParsedAuthorization, requestDate: RequestDate, opts: VerifyOptions): void {
  const { scope } = auth;
  const requestDay = requestDate.amzDate.slice(0, 8);
  if (scope.date !== requestDay) {
    throw invalid(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scope.date}' != '${requestDay}', from '${requestDate.source}'.`,
    );
  }
  if (scope.region !== opts.region) {
    throw invalid(`Credential should be scoped to a valid region, not ${JSON.stringify(scope.region)}; expected '${opts.region}'.`);
  }
  if (scope.service !== opts.service) {
    throw invalid(`Credential should be scoped to correct service: '${opts.service}', not ${JSON.stringify(scope.service)}.`);
  }
  if (scope.terminator !== SIGV4_TERMINATOR) {
    throw invalid(
      `Credential should be scoped with a valid terminator: '${SIGV4_TERMINATOR}', not ${JSON.stringify(scope.terminator)}.`,
    );
  }
}

function invalid(message: string): ApiError {
  return new ApiError('InvalidSignatureException', message);
}

/** Like AWS: show what we signed (never the key or the expected signature) to help debugging. */
function signatureMismatch(
  canonicalRequest: string,
  requestDate: RequestDate,
  auth: ParsedAuthorization,
  missingHeaders: readonly string[],
): ApiError {
  const stringToSign = buildStringToSign(requestDate.amzDate, auth.scopeString, canonicalRequest);
  const missing =
    missingHeaders.length > 0 ? ` Signed headers not present in the request: ${missingHeaders.join(', ')}.` : '';
  return invalid(
    'The request signature we calculated does not match the signature you provided. ' +
      'Check your AWS Secret Access Key and signing method.' +
      missing +
      `\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\n` +
      `The String-to-Sign should have been\n'${stringToSign}'\n`,
  );
}
