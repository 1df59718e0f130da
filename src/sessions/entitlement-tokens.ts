/**
 * Secrets handed to clients. The entitlement token is an HMAC of the session id under the
 * server key (256 bits), so the URL can be shown again on every GET of the session while
 * the database keeps only its SHA-256. Connect tokens and resume secrets are random; only
 * their hashes are stored. Logs never see any of them (see http/logger.ts).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

export class TokenIssuer {
  constructor(private readonly key: Buffer) {}

  entitlementToken(sessionId: string): string {
    return createHmac('sha256', this.key).update(`entitlement:${sessionId}`).digest('base64url');
  }

  randomSecret(): string {
    return randomBytes(32).toString('base64url');
  }
}

export const CONNECT_TOKEN_TTL_MS = 30_000;
