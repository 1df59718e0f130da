import { ERROR_CODES, type ErrorCode } from './codes.js';

/**
 * An error as a value: an AWS code, a message, and the few headers some codes add.
 * Throw it anywhere below the HTTP layer; the pipeline renders it in one place.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Extra response headers (e.g. Allow on 405). Retry-After is added by the renderer. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message?: string, headers: Record<string, string> = {}) {
    const info = ERROR_CODES[code];
    super(message && message.length > 0 ? message : info.defaultMessage);
    this.name = 'ApiError';
    this.code = code;
    this.status = info.status;
    this.retryable = info.retryable;
    this.headers = headers;
  }
}

export function apiError(code: ErrorCode, message?: string, headers?: Record<string, string>): ApiError {
  return new ApiError(code, message, headers);
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}
