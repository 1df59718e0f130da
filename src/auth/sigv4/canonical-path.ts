import { uriEncode } from './uri-encode.js';

/**
 * Which canonical URI a client may have signed for a given wire path:
 * - `as-received`: the path untouched (S3-style signers, curl --aws-sigv4);
 * - `encoded`: each segment URI-encoded once more, no normalisation
 *   (`%20` on the wire becomes `%2520`);
 * - `normalized-encoded`: `.`/`..` segments and empty segments removed, then encoded
 *   once more. This is what AWS SDKs sign for every service except S3, and what the
 *   official test vectors expect.
 */
export type PathForm = 'as-received' | 'encoded' | 'normalized-encoded';

export interface CanonicalPathCandidate {
  readonly form: PathForm;
  readonly path: string;
}

/** Removes `.` and `..` segments and repeated slashes, keeping a leading and a trailing slash. */
export function normalizePath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const leading = path.startsWith('/') ? '/' : '';
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `${leading}${segments.join('/')}${trailing}`;
}

/** URI-encodes every byte of the path except unreserved characters and `/`. */
export function encodePathOnceMore(path: string): string {
  return uriEncode(path, true);
}

/** The canonical URI of one form; an empty path is `/`. */
export function canonicalPath(rawPath: string, form: PathForm): string {
  const path = rawPath.length === 0 ? '/' : rawPath;
  switch (form) {
    case 'as-received':
      return path;
    case 'encoded':
      return encodePathOnceMore(path);
    case 'normalized-encoded':
      return encodePathOnceMore(normalizePath(path));
  }
}

/** All forms with distinct results, the SDK form first (the common case). */
export function canonicalPathCandidates(rawPath: string): CanonicalPathCandidate[] {
  const forms: readonly PathForm[] = ['normalized-encoded', 'encoded', 'as-received'];
  const candidates: CanonicalPathCandidate[] = [];
  for (const form of forms) {
    const path = canonicalPath(rawPath, form);
    if (!candidates.some((candidate) => candidate.path === path)) candidates.push({ form, path });
  }
  return candidates;
}
