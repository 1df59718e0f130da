/** Fixed strings and limits of AWS Signature Version 4 as this server accepts it (spec §2.3). */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const SIGV4_TERMINATOR = 'aws4_request';

/** Longer Authorization values are rejected before any parsing work is done. */
export const MAX_AUTHORIZATION_LENGTH = 8 * 1024;

/** Allowed distance between the request timestamp and the server clock (spec §2.2). */
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;
