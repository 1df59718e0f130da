import { ApiError } from '../../errors/api-error.js';
import { headerValues } from './raw-headers.js';

/** Which header carried the request timestamp; it must be one of the signed headers. */
export type DateSource = 'x-amz-date' | 'date';

export interface RequestDate {
  readonly date: Date;
  /** The timestamp in ISO 8601 basic form (`YYYYMMDDTHHMMSSZ`), as used in the string to sign. */
  readonly amzDate: string;
  readonly source: DateSource;
}

const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
// RFC 1123 (the HTTP-date IMF-fixdate form): `Fri, 01 Nov 2013 19:23:43 GMT`.
const RFC_1123 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A Date for the given UTC fields, or undefined when any field is out of range (e.g. 31 Feb). */
function utcDate(year: number, month: number, day: number, hour: number, minute: number, second: number): Date | undefined {
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls over (31 Feb -> 3 Mar); a round trip detects that.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date;
}

/** Parses `YYYYMMDDTHHMMSSZ`; anything else (including surrounding spaces) is undefined. */
export function parseIsoBasic(value: string): Date | undefined {
  const m = ISO_BASIC.exec(value);
  if (m === null) return undefined;
  return utcDate(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Parses RFC 1123 `Fri, 01 Nov 2013 19:23:43 GMT`. The weekday name is required but not cross-checked. */
export function parseRfc1123(value: string): Date | undefined {
  const m = RFC_1123.exec(value);
  if (m === null) return undefined;
  return utcDate(Number(m[4]), MONTHS.indexOf(m[3]) + 1, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
}

export function toIsoBasic(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

function incomplete(message: string): ApiError {
  return new ApiError('IncompleteSignatureException', message);
}

/**
 * Picks the request timestamp: `x-amz-date` (ISO 8601 basic only) wins, and when it is
 * present `Date` is ignored; otherwise `Date` in ISO 8601 basic or RFC 1123 form.
 * Neither present, or the chosen one unparseable -> IncompleteSignatureException.
 */
export function pickRequestDate(rawHeaders: readonly string[]): RequestDate {
  const amzDates = headerValues(rawHeaders, 'x-amz-date');
  if (amzDates.length > 1) throw incomplete('The request has more than one X-Amz-Date header.');
  if (amzDates.length === 1) {
    const text = amzDates[0].trim();
    const date = parseIsoBasic(text);
    if (date === undefined) {
      throw incomplete('X-Amz-Date must be in ISO 8601 basic format (YYYYMMDD\'T\'HHMMSS\'Z\').');
    }
    return { date, amzDate: text, source: 'x-amz-date' };
  }
  const httpDates = headerValues(rawHeaders, 'date');
  if (httpDates.length > 1) throw incomplete('The request has more than one Date header.');
  if (httpDates.length === 1) {
    const text = httpDates[0].trim();
    const date = parseIsoBasic(text) ?? parseRfc1123(text);
    if (date === undefined) {
      throw incomplete('The Date header must be in ISO 8601 basic format (YYYYMMDD\'T\'HHMMSS\'Z\') or RFC 1123 format.');
    }
    return { date, amzDate: toIsoBasic(date), source: 'date' };
  }
  throw incomplete('Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
}

/** Throws RequestExpired when `requestDate` is more than `maxSkewMs` before or after `now`. */
export function checkClockSkew(requestDate: Date, now: Date, maxSkewMs: number): void {
  const skew = requestDate.getTime() - now.getTime();
  if (Math.abs(skew) <= maxSkewMs) return;
  const minutes = `${Math.round(maxSkewMs / 60000)} min.`;
  if (skew < 0) {
    const earliest = new Date(now.getTime() - maxSkewMs);
    throw new ApiError(
      'RequestExpired',
      `Signature expired: ${toIsoBasic(requestDate)} is now earlier than ${toIsoBasic(earliest)} (${toIsoBasic(now)} - ${minutes})`,
    );
  }
  const latest = new Date(now.getTime() + maxSkewMs);
  throw new ApiError(
    'RequestExpired',
    `Signature not yet current: ${toIsoBasic(requestDate)} is still later than ${toIsoBasic(latest)} (${toIsoBasic(now)} + ${minutes})`,
  );
}
