import { ApiError } from '../../errors/api-error.js';
import { canonicalHeaderValue } from './canonical-headers.js';
import { headerValues } from './raw-headers.js';
import { sha256Hex } from './sha256.js';

/**
 * The payload hash for the last line of the canonical request. It is always computed
 * from the body bytes; an `x-amz-content-sha256` header must agree with it (else
 * InvalidSignatureException), and when it does its literal value is used, as signers
 * that send the header put that value in the canonical request.
 */
/** SHA-256 of no bytes: every GET and DELETE. */
const EMPTY_BODY_SHA256 = sha256Hex(new Uint8Array(0));

export function resolvePayloadHash(rawHeaders: readonly string[], body: Uint8Array): string {
  const computed = body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(body);
  const declared = headerValues(rawHeaders, 'x-amz-content-sha256');
  if (declared.length === 0) return computed;
  const value = declared.map(canonicalHeaderValue).join(',');
  if (value.toLowerCase() !== computed) {
    throw new ApiError(
      'InvalidSignatureException',
      "The provided 'x-amz-content-sha256' header does not match the SHA-256 of the request body.",
    );
  }
  return value;
}
