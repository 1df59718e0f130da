/** Sessions collection (§3.10) with session:entitle (§3.9), and Session (§3.11). */
import { ApiError } from '../../errors/api-error.js';
import { pageLinks, pageRequest } from '../../hal/collection.js';
import { halResource, link, templated } from '../../hal/links.js';
import { paths, routePatterns } from '../../hal/paths.js';
import type { ResourceRoute } from '../../http/types.js';
import { sha256Hex } from '../../sessions/entitlement-tokens.js';
import { newId } from '../../store/ids.js';
import type { SessionRow } from '../../store/sessions-repo.js';
import { loadApplication, notFound } from '../applications/routes.js';
import { optionalInteger, optionalString, UUID_RE } from '../validate.js';
import { entitlementUrl, type SessionsDeps } from './deps.js';
import { sessionResource } from './representation.js';

export async function loadSession(deps: SessionsDeps, accountId: string, appId: string | undefined, sessionId: string | undefined): Promise<SessionRow> {
  const app = await loadApplication(deps, accountId, appId);
  const id = sessionId ?? '';
  const row = UUID_RE.test(id) ? await deps.sessions.get(accountId, app.id, id) : undefined;
  if (!row) throw notFound('Session', id);
  return row;
}

export function sessionsRoutes(deps: SessionsDeps): ResourceRoute[] {
  return [
    {
      path: routePatterns.sessions,
      signed: true,
      operations: {
        GET: {
          action: 'GetSessions',
          async handle(req) {
            const app = await loadApplication(deps, req.accountId, req.params['applicationId']);
            const page = pageRequest(deps.pageTokens, req.query);
            const rows = await deps.sessions.listPage(app.id, page.cursor?.after, page.limit);
            const base = paths.sessions(app.id);
            const links = pageLinks(base, deps.pageTokens, page, rows, (r) => ({ createdAt: r.created_at, id: r.id }), (r) => paths.session(app.id, r.id), req.query);
            return {
              status: 200,
              body: halResource(base, { ...links, 'session:by-id': templated(paths.sessionTemplate(app.id)), up: link(paths.application(app.id)) }),
            };
          },
        },
        POST: {
          action: 'CreateSession',
          rateLimit: 'entitleSession',
          body: 'optional',
          async handle(req) {
            const app = await loadApplication(deps, req.accountId, req.params['applicationId']);
            const opaqueData = optionalString(req.body, 'opaqueData', { max: 4096, allowControl: true }) ?? null;
            const expirationMinutes = optionalInteger(req.body, 'expirationDuration', 1, 60) ?? 1;
            const sessionId = newId();
            const outcome = await deps.sessions.entitle(req.accountId, app.id, {
              opaqueData,
              expirationMinutes,
              sessionId,
              entitlementHash: sha256Hex(deps.tokens.entitlementToken(sessionId)),
            });
            switch (outcome.kind) {
              case 'not-found':
                throw notFound('Application', app.id);
              case 'conflict':
                throw new ApiError('ConflictException', `Application ${app.id} is in state ${outcome.state}; sessions can only be entitled when it is Active.`);
              case 'no-capacity':
                throw new ApiError('LimitExceededException', `Application ${app.id} has no available session capacity.`);
              case 'ok':
                return {
                  status: 201,
                  headers: { Location: paths.session(app.id, sessionId) },
                  body: sessionResource(outcome.session, entitlementUrl(deps, sessionId)),
                };
            }
          },
        },
      },
    },
    {
      path: routePatterns.session,
      signed: true,
      operations: {
        GET: {
          action: 'GetSession',
          async handle(req) {
            const row = await loadSession(deps, req.accountId, req.params['applicationId'], req.params['sessionId']);
            return { status: 200, body: sessionResource(row, entitlementUrl(deps, row.id)) };
          },
        },
      },
    },
  ];
}
