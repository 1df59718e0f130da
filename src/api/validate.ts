/** Field checks shared by the body validators; each failure names its field (§3.3). */
import { ApiError } from '../errors/api-error.js';
import type { JsonObject, JsonValue } from '../http/types.js';

export function invalid(field: string, problem: string): ApiError {
  return new ApiError('ValidationException', `${field}: ${problem}`);
}

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export interface StringRule {
  min?: number;
  max: number;
  notBlank?: boolean;
  allowControl?: boolean;
}

export function optionalString(body: JsonObject, field: string, rule: StringRule): string | undefined {
  const value: JsonValue | undefined = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(field, `must be a string, got ${Array.isArray(value) ? 'array' : typeof value}`);
  const length = [...value].length;
  if (rule.min !== undefined && length < rule.min) throw invalid(field, `must be at least ${rule.min} characters`);
  if (length > rule.max) throw invalid(field, `must be at most ${rule.max} characters, got ${length}`);
  if (rule.notBlank && value.trim() === '') throw invalid(field, 'must not be blank');
  if (!rule.allowControl && CONTROL.test(value)) throw invalid(field, 'must not contain control characters');
  return value;
}

export function requiredString(body: JsonObject, field: string, rule: StringRule): string {
  const value = optionalString(body, field, rule);
  if (value === undefined) throw invalid(field, 'is required');
  return value;
}

export function optionalInteger(body: JsonObject, field: string, min: number, max: number): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, 'must be an integer');
  if (value < min || value > max) throw invalid(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Resource ids in paths: anything that is not a lowercase UUID cannot exist. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
