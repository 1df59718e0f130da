/** Application Errors collection (§3.7) and Application Error (§3.8). */
import { pageLinks, pageRequest } from '../../hal/collection.js';
import { halResource, link } from '../../hal/links.js';
import { paths, routePatterns } from '../../hal/paths.js';
import type { ResourceRoute } from '../../http/types.js';
import type { ApplicationErrorRow } from '../../store/applications-repo.js';
import { loadApplication, notFound } from '../applications/routes.js';
import type { ApplicationsDeps } from '../applications/deps.js';
import { UUID_RE } from '../validate.js';

function errorResource(row: ApplicationErrorRow): Record<string, unknown> {
  return halResource(
    paths.applicationError(row.application_id, row.id),
    { collection: link(paths.applicationErrors(row.application_id)) },
    {
      id: row.id,
      state: row.state,
      type: row.type,
      message: `${row.cause} ${row.solution}`,
      errorCode: row.error_code,
      cause: row.cause,
      solution: row.solution,
      errorDate: row.error_date,
      sessionId: row.session_id,
    },
  );
}

export function applicationErrorsRoutes(deps: ApplicationsDeps): ResourceRoute[] {
  return [
    {
      path: routePatterns.applicationErrors,
      signed: true,
      operations: {
        GET: {
          action: 'GetApplicationErrors',
          async handle(req) {
            const app = await loadApplication(deps, req.accountId, req.params['applicationId']);
            const page = pageRequest(deps.pageTokens, req.query);
            const rows = await deps.applications.listErrorsPage(app.id, page.cursor?.after, page.limit);
            const base = paths.applicationErrors(app.id);
            const links = pageLinks(base, deps.pageTokens, page, rows, (r) => ({ createdAt: r.error_date, id: r.id }), (r) => paths.applicationError(app.id, r.id), req.query);
            return { status: 200, body: halResource(base, { ...links, up: link(paths.application(app.id)) }) };
          },
        },
      },
    },
    {
      path: routePatterns.applicationError,
      signed: true,
      operations: {
        GET: {
          action: 'GetApplicationError',
          async handle(req) {
            const app = await loadApplication(deps, req.accountId, req.params['applicationId']);
            const errorId = req.params['errorId'] ?? '';
            const row = UUID_RE.test(errorId) ? await deps.applications.readError(app.id, errorId) : undefined;
            if (!row) throw notFound('Application error', errorId);
            return { status: 200, body: errorResource(row) };
          },
        },
      },
    },
  ];
}
