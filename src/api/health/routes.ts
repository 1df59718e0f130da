/** GET /health — unsigned liveness/readiness: store check, session isolation level, version. */
import { sql, type Kysely } from 'kysely';
import type { ResourceRoute } from '../../http/types.js';
import type { SandboxCapabilities } from '../../sandbox/index.js';
import type { Database } from '../../store/schema.js';

export interface HealthDeps {
  db: Kysely<Database>;
  isolation: SandboxCapabilities;
  version: string;
  liveSessions(): number;
  instanceId: string;
}

export function healthRoutes(deps: HealthDeps): ResourceRoute[] {
  return [
    {
      path: '/health',
      signed: false,
      operations: {
        GET: {
          action: 'Health',
          async handle() {
            let store = 'ok';
            try {
              await sql`select 1`.execute(deps.db);
            } catch {
              store = 'unavailable';
            }
            const ready = store === 'ok';
            return {
              status: ready ? 200 : 503,
              contentType: 'application/json',
              headers: { 'Cache-Control': 'no-store' },
              body: {
                status: ready ? 'ok' : 'degraded',
                live: true,
                ready,
                version: deps.version,
                instanceId: deps.instanceId,
                store,
                isolation: { level: deps.isolation.isolation, reasons: deps.isolation.reasons },
                liveSessions: deps.liveSessions(),
              },
            };
          },
        },
      },
    },
  ];
}
