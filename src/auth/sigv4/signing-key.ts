import { createHmac } from 'node:crypto';
import { SIGV4_TERMINATOR } from './constants.js';

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The HMAC chain `"AWS4"+secret` -> date -> region -> service -> `aws4_request`. */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const dateKey = hmac(`AWS4${secretAccessKey}`, date);
  const regionKey = hmac(dateKey, region);
  const serviceKey = hmac(regionKey, service);
  return hmac(serviceKey, SIGV4_TERMINATOR);
}

export interface SigningKeyRequest {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

/**
 * A small bounded cache of derived keys (a key is valid for one day, so a busy client
 * hits the same entry all day). The least recently used entry is evicted first.
 * Entries remember the secret they were derived from (the credential cache holds it in
 * memory anyway), so a rotated secret misses; comparing strings costs less than hashing.
 */
export class SigningKeyCache {
  private readonly entries = new Map<string, { secret: string; key: Buffer }>();

  constructor(private readonly maxEntries = 256) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  get(request: SigningKeyRequest): Buffer {
    const id = [request.accessKeyId, request.date, request.region, request.service].join('\n');
    const hit = this.entries.get(id);
    if (hit !== undefined) {
      this.entries.delete(id);
      if (hit.secret === request.secretAccessKey) {
        this.entries.set(id, hit);
        return hit.key;
      }
    }
    const key = deriveSigningKey(request.secretAccessKey, request.date, request.region, request.service);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(id, { secret: request.secretAccessKey, key });
    return key;
  }
}
