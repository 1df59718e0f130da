import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of the string to sign under the derived signing key. */
export function computeSignature(signingKey: Buffer, stringToSign: string): string {
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex signatures (different lengths simply do not match). */
export function signaturesMatch(provided: string, computed: string): boolean {
  const a = Buffer.from(provided.toLowerCase(), 'utf8');
  const b = Buffer.from(computed.toLowerCase(), 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
