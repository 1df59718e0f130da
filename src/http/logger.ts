/**
 * pino, with the request id on every line (fastify's per-request child logger) and
 * nothing secret: Authorization and token-bearing headers are redacted, entitlement tokens
 * in URLs are replaced by a short hash prefix.
 */
import { createHash } from 'node:crypto';
import pino, { type Logger } from 'pino';

export function maskUrl(url: string): string {
  return url
    .replace(/\/entitlements\/([^/?#]+)/g, (_m, token: string) => `/entitlements/~${shortHash(token)}`)
    .replace(/([?&](?:token|connectToken|resume|resumeSecret)=)[^&#]*/gi, '$1~redacted');
}

export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-amz-security-token"]', '*.secretAccessKey', 'secretAccessKey'],
        censor: '~redacted',
      },
      serializers: {
        req(req: { method?: string; url?: string; ip?: string }) {
          return { method: req.method, url: maskUrl(req.url ?? ''), remoteAddress: req.ip };
        },
      },
    },
    destination ?? pino.destination(1),
  );
}
