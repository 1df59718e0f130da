/**
 * The one place an error becomes a response: AWS JSON shape (§4.3), x-amzn-ErrorType,
 * Allow on 405, Retry-After on 429/503. Unknown errors become InternalFailure with
 * nothing internal in the body.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, isApiError } from '../errors/api-error.js';
import { ERROR_TYPE_PREFIX } from '../errors/codes.js';

export function errorBody(err: ApiError): string {
  return JSON.stringify({ __type: ERROR_TYPE_PREFIX + err.code, message: err.message });
}

export function errorHeaders(err: ApiError): Record<string, string> {
  const headers: Record<string, string> = { 'x-amzn-ErrorType': err.code, ...err.headers };
  if ((err.status === 429 || err.status === 503) && !('Retry-After' in headers)) headers['Retry-After'] = '1';
  return headers;
}

/** Maps fastify's own framing errors (body too large, bad length...) onto our codes. */
export function toApiError(err: unknown): ApiError | undefined {
  if (isApiError(err)) return err;
  const fe = err as Partial<FastifyError> | undefined;
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('RequestEntityTooLargeException');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('ValidationException', 'The Content-Length header does not match the body.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new ApiError('UnsupportedMediaTypeException');
    default:
      break;
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 413) return new ApiError('RequestEntityTooLargeException');
    if (fe.statusCode === 415) return new ApiError('UnsupportedMediaTypeException');
    if (fe.statusCode === 411) return new ApiError('LengthRequiredException');
    return new ApiError('ValidationException', 'The request could not be read.');
  }
  return undefined;
}

export function renderError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  let apiErr = toApiError(error);
  if (!apiErr) {
    request.log.error({ err: error }, 'unhandled error');
    apiErr = new ApiError('InternalFailure');
  } else if (apiErr.status >= 500) {
    request.log.warn({ code: apiErr.code }, 'request failed');
  }
  void reply.code(apiErr.status).headers(errorHeaders(apiErr)).type('application/json').send(errorBody(apiErr));
}

/**
 * Bytes for a request Node's HTTP parser rejected before fastify saw it (bad
 * Content-Length, oversized headers): still the AWS shape and the three headers.
 */
export function rawErrorResponse(err: ApiError, requestId: string, status = err.status): string {
  const body = errorBody(err);
  const headers = {
    ...errorHeaders(err),
    'x-amzn-RequestId': requestId,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Date: new Date().toUTCString(),
    Connection: 'close',
  };
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 413 ? 'Payload Too Large' : 'Bad Request';
  return `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`;
}
