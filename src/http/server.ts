/** Assembles fastify: options, body capture, the pipeline, the error renderer, the routes. */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApiError } from '../errors/api-error.js';
import { renderError, rawErrorResponse } from './error-renderer.js';
import { MAX_BODY_BYTES } from './framing.js';
import { installPipeline, type PipelineDeps } from './pipeline.js';
import type { ResourceRoute } from './types.js';

export interface HttpServerOptions extends PipelineDeps {
  logger: Logger;
  routes: ResourceRoute[];
  /** Extra plugins (static viewer assets, WebSocket gateway) registered after the API routes. */
  extend?: (app: FastifyInstance) => void | Promise<void>;
}

export async function buildHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    exposeHeadRoutes: false,
    return503OnClosing: false,
    // Large enough that a 16 KiB header reaches our own checks (answered 4xx in AWS shape).
    http: { maxHeaderSize: 64 * 1024 },
    clientErrorHandler(err, socket) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const apiErr =
        code === 'HPE_HEADER_OVERFLOW'
          ? new ApiError('RequestEntityTooLargeException', 'The request headers are too large.')
          : new ApiError('ValidationException', 'The request could not be parsed as HTTP/1.1.');
      socket.end(rawErrorResponse(apiErr, randomUUID()));
    },
  });

  // Keep every body as raw bytes: SigV4 hashes them, and JSON is decoded later in the
  // pipeline (after auth and throttling, as the precedence rules require).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => renderError(error, request, reply));

  const pipeline = installPipeline(app, options);
  for (const route of options.routes) pipeline.addResource(route);
  if (options.extend) await options.extend(app);
  return app;
}
