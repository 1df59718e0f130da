import assert from 'node:assert/strict';
import type { ErrorCode } from '../../../src/errors/codes.js';
import { isApiError, type ApiError } from '../../../src/errors/api-error.js';

/** Asserts `fn` throws an ApiError with `code`; returns it for further checks. */
export function assertThrowsApiError(fn: () => unknown, code: ErrorCode): ApiError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected ${code} but nothing was thrown`);
  assert.ok(isApiError(caught), `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Asserts the promise rejects with an ApiError with `code`; returns it. */
export async function assertRejectsApiError(promise: Promise<unknown>, code: ErrorCode): Promise<ApiError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected ${code} but the promise resolved`);
  assert.ok(isApiError(caught), `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}
