import { headerValues } from './raw-headers.js';

export interface CanonicalHeaders {
  /** `name:value\n` for each signed header, sorted by name. */
  readonly block: string;
  /** The signed header names sorted and joined with `;`. */
  readonly signedHeaderList: string;
  /** Signed headers the request does not carry (they canonicalise to an empty value). */
  readonly missing: readonly string[];
}

/** One header value in canonical form: trimmed, inner whitespace runs collapsed to one space. */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

/**
 * Builds the canonical headers from Node's `rawHeaders`: for every signed name, all
 * values received under it (case-insensitively) in arrival order, each canonicalised,
 * joined with `,`.
 */
export function buildCanonicalHeaders(rawHeaders: readonly string[], signedHeaders: readonly string[]): CanonicalHeaders {
  const names = [...signedHeaders].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const missing: string[] = [];
  let block = '';
  for (const name of names) {
    const values = headerValues(rawHeaders, name);
    if (values.length === 0) missing.push(name);
    block += `${name}:${values.map(canonicalHeaderValue).join(',')}\n`;
  }
  return { block, signedHeaderList: names.join(';'), missing };
}
