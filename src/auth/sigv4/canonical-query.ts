import { percentDecodeToBytes, uriEncodeBytes } from './uri-encode.js';

export interface CanonicalQueryOptions {
  /** Read `+` as an encoded space (HTML-form style) instead of a literal plus. */
  readonly plusAsSpace?: boolean;
}

/**
 * The canonical query string of a raw query (the part after `?`, without it):
 * each name and value is decoded and re-encoded the RFC 3986 way, `a` without `=`
 * becomes `a=`, pairs are sorted by encoded name then encoded value (byte order;
 * after encoding everything is ASCII, so string order is byte order) and joined with `&`.
 */
export function canonicalQueryString(rawQuery: string, options: CanonicalQueryOptions = {}): string {
  const pairs: Array<readonly [string, string]> = [];
  for (const parameter of rawQuery.split('&')) {
    if (parameter.length === 0) continue;
    const equals = parameter.indexOf('=');
    const name = equals === -1 ? parameter : parameter.slice(0, equals);
    const value = equals === -1 ? '' : parameter.slice(equals + 1);
    pairs.push([reencode(name, options), reencode(value, options)]);
  }
  pairs.sort(([nameA, valueA], [nameB, valueB]) => compare(nameA, nameB) || compare(valueA, valueB));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

function reencode(component: string, options: CanonicalQueryOptions): string {
  const text = options.plusAsSpace === true ? component.replace(/\+/g, ' ') : component;
  return uriEncodeBytes(percentDecodeToBytes(text), false);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
