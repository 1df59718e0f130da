/**
 * The request pipeline, in the fixed order of spec §4.5:
 *   1. framing (411/415 from headers; 413 while reading)   onRequest + body parser
 *   2. authentication (SigV4)                              preHandler
 *   3. routing (404 unknown path, 405 wrong method)         handler / not-found handler
 *   4. throttling (per-account POST budgets)                handler
 *   5. body decoding (SerializationException)               handler
 *   6. the operation (validation, state checks, action)     src/api/*
 *   7. serialisation (HAL JSON, exact Content-Length)       handler
 * Errors at any step are rendered by error-renderer.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors/api-error.js';
import type { RateLimits } from '../limits/rate-limiter.js';
import type { Metrics } from './metrics.js';
import type { Authenticator } from './authenticate.js';
import { checkFraming } from './framing.js';
import { parseJsonObjectBody } from './json-body.js';
import { ALL_METHODS, type HttpMethod, type ResourceRoute } from './types.js';

declare module 'fastify' {
  interface FastifyRequest {
    accountId: string;
    /** The IAM action name of the operation, once routed (metrics, logs). */
    operationName: string;
  }
}

export interface PipelineDeps {
  authenticator: Authenticator;
  rateLimits: RateLimits;
  metrics?: Metrics;
  /** True once a graceful shutdown started: new requests get 503 with Retry-After. */
  shuttingDown?: () => boolean;
}

function rawBodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

/** Installs steps 1–2 and the 404 handler; `addResource` installs steps 3–7 per path. */
export function installPipeline(app: FastifyInstance, deps: PipelineDeps): { addResource(route: ResourceRoute): void } {
  app.decorateRequest('accountId', '');
  app.decorateRequest('operationName', '');

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-amzn-RequestId', request.id);
    if (deps.shuttingDown?.()) {
      void reply.header('Connection', 'close');
      throw new ApiError('ServiceUnavailableException', 'The server is shutting down. Retry against another instance or later.');
    }
    checkFraming(request.raw.method ?? 'GET', request.headers);
  });

  if (deps.metrics) {
    const metrics = deps.metrics;
    app.addHook('onResponse', async (request, reply) => {
      const operation = request.operationName || (reply.statusCode === 404 ? 'Unknown' : 'Other');
      const code = reply.statusCode >= 400 ? String(reply.getHeader('x-amzn-ErrorType') ?? '') : '';
      metrics.requests.inc({ operation, method: request.method, status: String(reply.statusCode), code });
      metrics.latency.observe({ operation }, reply.elapsedTime / 1000);
      if (code === 'ThrottlingException') metrics.throttled.inc({ limit: operation });
    });
  }

  const authenticate = async (request: FastifyRequest): Promise<void> => {
    const identity = await deps.authenticator.authenticate(request, rawBodyOf(request));
    request.accountId = identity.accountId;
  };

  app.setNotFoundHandler({ preHandler: authenticate }, async () => {
    throw new ApiError('ResourceNotFoundException', 'The requested resource does not exist.');
  });

  return {
    addResource(route: ResourceRoute): void {
      const allowed = Object.keys(route.operations) as HttpMethod[];
      const allowHeader = allowed.join(', ');
      app.route({
        method: [...ALL_METHODS],
        url: route.path,
        preHandler: route.signed ? authenticate : undefined,
        handler: async (request: FastifyRequest, reply: FastifyReply) => {
          const operation = route.operations[request.method as HttpMethod];
          if (operation) request.operationName = operation.action;
          if (!operation) {
            throw new ApiError('MethodNotAllowedException', `${request.method} is not allowed on this resource; allowed: ${allowHeader}.`, { Allow: allowHeader });
          }
          if (operation.rateLimit) {
            const decision = await deps.rateLimits[operation.rateLimit].consume(request.accountId);
            if (!decision.allowed) {
              throw new ApiError('ThrottlingException', 'Rate exceeded.', { 'Retry-After': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) });
            }
          }
          const rawBody = rawBodyOf(request);
          const body = operation.body ? parseJsonObjectBody(rawBody, operation.body === 'required') : {};
          const result = await operation.handle({
            accountId: request.accountId,
            params: (request.params ?? {}) as Record<string, string>,
            query: (request.query ?? {}) as Record<string, string>,
            body,
            headers: request.headers,
            rawBody,
            log: request.log,
          });
          const payload = typeof result.body === 'string' || Buffer.isBuffer(result.body) ? result.body : JSON.stringify(result.body);
          void reply
            .code(result.status)
            .headers(result.headers ?? {})
            .type(result.contentType ?? 'application/hal+json');
          return reply.send(payload);
        },
      });
    },
  };
}
