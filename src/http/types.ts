/**
 * The contract between the request pipeline (src/http) and the resource modules (src/api).
 * A resource declares its path, whether it is signed, and one operation per method;
 * the pipeline does everything around the operation in a fixed order.
 */
import type { FastifyBaseLogger } from 'fastify';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** Which per-account POST budget an operation spends (spec §2.5). */
export type RateLimitName = 'createApplication' | 'entitleSession';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface ActionRequest {
  /** The authenticated account (signed routes only; '' on unsigned routes). */
  accountId: string;
  params: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  /** The body as a JSON object (null fields removed), when the operation reads a body. */
  body: JsonObject;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  rawBody: Buffer;
  log: FastifyBaseLogger;
}

export interface ActionResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Defaults to application/hal+json. */
  contentType?: string;
}

export interface Operation {
  /** IAM action name (spec §2.9), logged and used by metrics. */
  action: string;
  rateLimit?: RateLimitName;
  /** Whether the pipeline parses a JSON object body: required (empty body is a
   * SerializationException), optional (empty body reads as {}), or not read at all. */
  body?: 'required' | 'optional';
  handle(req: ActionRequest): Promise<ActionResult>;
}

export interface ResourceRoute {
  /** fastify path pattern, e.g. /applications/:applicationId */
  path: string;
  /** false for the unsigned client-facing endpoints (entitlements, health) */
  signed: boolean;
  operations: Partial<Record<HttpMethod, Operation>>;
}
