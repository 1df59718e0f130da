/**
 * Body decoding for operations that take a JSON object: strict UTF-8, JSON, an object.
 * Explicit nulls are removed here so every validator treats them as absent (§2.4).
 */
import { ApiError } from '../errors/api-error.js';
import type { JsonObject, JsonValue } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseJsonObjectBody(raw: Buffer, required: boolean): JsonObject {
  if (raw.length === 0) {
    if (required) throw new ApiError('SerializationException', 'The request body is empty; a JSON object is required.');
    return {};
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ApiError('SerializationException', 'The request body is not valid UTF-8.');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('SerializationException', 'The request body is not valid JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError('SerializationException', 'The request body must be a JSON object.');
  }
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value as Record<string, JsonValue>)) {
    if (v !== null && key !== '__proto__') out[key] = v;
  }
  return out;
}
