/**
 * Opaque keyset page tokens: base64url of (createdAt, id) of the last item of the previous
 * page, plus the page number for `first` bookkeeping. The next page is "items after this
 * key", so a page costs the same however many items exist. Tokens are HMAC-signed so a
 * client cannot forge keys; a bad token is a ValidationException.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../errors/api-error.js';

export interface PageKey {
  createdAt: string;
  id: string;
}

export interface PageCursor {
  after: PageKey;
  page: number;
}

export class PageTokenCodec {
  constructor(private readonly key: Buffer) {}

  encode(cursor: PageCursor): string {
    const payload = Buffer.from(JSON.stringify([cursor.page, cursor.after.createdAt, cursor.after.id])).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** undefined token = first page. */
  decode(token: string | undefined): PageCursor | undefined {
    if (token === undefined) return undefined;
    const invalid = new ApiError('ValidationException', 'The page token is not valid.');
    const [payload, mac] = token.split('.');
    if (!payload || !mac || token.length > 512) throw invalid;
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid;
    try {
      const [page, createdAt, id] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown[];
      if (typeof page !== 'number' || !Number.isInteger(page) || page < 2 || typeof createdAt !== 'string' || typeof id !== 'string') throw invalid;
      return { page, after: { createdAt, id } };
    } catch {
      throw invalid;
    }
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url').slice(0, 22);
  }
}

export const PAGE_SIZE = 20;
