/**
 * Framing rules checked from the headers alone, before authentication (§4.5 precedence):
 * 411 for a PUT/POST with neither Content-Length nor chunked encoding, 415 for a body whose
 * Content-Type is not one of the four JSON media types. 413 is enforced by fastify's
 * bodyLimit while the body streams in.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../errors/api-error.js';

export const MAX_BODY_BYTES = 64 * 1024;

export const ACCEPTED_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/json',
  'application/x-amz-json-1.0',
  'application/x-amz-json-1.1',
  'application/hal+json',
]);

export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** Throws the framing error for a request, if any. */
export function checkFraming(method: string, headers: IncomingHttpHeaders): void {
  const hasLength = headers['content-length'] !== undefined;
  const chunked = headers['transfer-encoding'] !== undefined;
  if ((method === 'POST' || method === 'PUT') && !hasLength && !chunked) {
    throw new ApiError('LengthRequiredException');
  }
  const declaredLength = hasLength ? Number(headers['content-length']) : 0;
  if (declaredLength > MAX_BODY_BYTES) throw new ApiError('RequestEntityTooLargeException');
  const hasBody = chunked || declaredLength > 0;
  if (!hasBody) return;
  const type = mediaType(headers['content-type']);
  if (type === undefined || !ACCEPTED_MEDIA_TYPES.has(type)) {
    throw new ApiError(
      'UnsupportedMediaTypeException',
      `Content-Type ${type === undefined ? '(none)' : `"${type.slice(0, 100)}"`} is not supported; use application/json.`,
    );
  }
}
