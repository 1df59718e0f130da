import { buildCanonicalHeaders } from './canonical-headers.js';
import { canonicalPathCandidates, type PathForm } from './canonical-path.js';
import { canonicalQueryString } from './canonical-query.js';

export interface CanonicalRequestParts {
  readonly method: string;
  readonly canonicalPath: string;
  readonly canonicalQuery: string;
  /** `name:value\n` lines, sorted by name. */
  readonly canonicalHeaders: string;
  /** Sorted signed header names joined with `;`. */
  readonly signedHeaderList: string;
  /** Hex SHA-256 of the body. */
  readonly payloadHash: string;
}

/** The six parts joined with `\n` (the headers block brings its own trailing newline). */
export function buildCanonicalRequest(parts: CanonicalRequestParts): string {
  return [
    parts.method,
    parts.canonicalPath,
    parts.canonicalQuery,
    parts.canonicalHeaders,
    parts.signedHeaderList,
    parts.payloadHash,
  ].join('\n');
}

export interface RequestTarget {
  readonly path: string;
  /** Everything after the first `?` (empty when there is none). */
  readonly query: string;
}

/** Splits a request target into path and query; an absolute-form target loses its scheme and authority. */
export function splitRequestTarget(url: string): RequestTarget {
  let target = url;
  const absolute = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (absolute !== null) target = target.slice(absolute[0].length);
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  const question = target.indexOf('?');
  const path = question === -1 ? target : target.slice(0, question);
  const query = question === -1 ? '' : target.slice(question + 1);
  return { path: path.length === 0 ? '/' : path, query };
}

export interface CanonicalRequestInput {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly signedHeaders: readonly string[];
  readonly payloadHash: string;
}

export interface CanonicalRequestCandidate {
  readonly pathForm: PathForm;
  readonly plusAsSpace: boolean;
  readonly canonicalRequest: string;
}

export interface CanonicalRequestCandidates {
  readonly candidates: readonly CanonicalRequestCandidate[];
  /** Signed headers absent from the request (useful in a mismatch message). */
  readonly missingHeaders: readonly string[];
}

/**
 * Every canonical request a legitimate client may have signed for this request:
 * one per distinct canonical path form (see canonical-path.ts) and, only when the
 * query holds a `+`, also with `+` read as a space. The SDK form comes first.
 */
export function canonicalRequestCandidates(input: CanonicalRequestInput): CanonicalRequestCandidates {
  const target = splitRequestTarget(input.url);
  const headers = buildCanonicalHeaders(input.rawHeaders, input.signedHeaders);
  const queries = [{ plusAsSpace: false, canonicalQuery: canonicalQueryString(target.query) }];
  if (target.query.includes('+')) {
    queries.push({ plusAsSpace: true, canonicalQuery: canonicalQueryString(target.query, { plusAsSpace: true }) });
  }
  const candidates: CanonicalRequestCandidate[] = [];
  for (const path of canonicalPathCandidates(target.path)) {
    for (const query of queries) {
      candidates.push({
        pathForm: path.form,
        plusAsSpace: query.plusAsSpace,
        canonicalRequest: buildCanonicalRequest({
          method: input.method,
          canonicalPath: path.path,
          canonicalQuery: query.canonicalQuery,
          canonicalHeaders: headers.block,
          signedHeaderList: headers.signedHeaderList,
          payloadHash: input.payloadHash,
        }),
      });
    }
  }
  return { candidates, missingHeaders: headers.missing };
}
