/** Application Status (§3.6): GET, and PUT = application:archive / application:reactivate. */
import { ApiError } from '../../errors/api-error.js';
import { routePatterns } from '../../hal/paths.js';
import type { ResourceRoute } from '../../http/types.js';
import { applicationStatusResource } from '../applications/representation.js';
import { loadApplication } from '../applications/routes.js';
import type { ApplicationsDeps } from '../applications/deps.js';
import { invalid, requiredString } from '../validate.js';

/** Ends the programs of sessions terminated by an archive; supplied by the session supervisor. */
export interface ApplicationStatusDeps extends ApplicationsDeps {
  onSessionsTerminated?(sessionIds: string[]): void;
}

export function applicationStatusRoutes(deps: ApplicationStatusDeps): ResourceRoute[] {
  return [
    {
      path: routePatterns.applicationStatus,
      signed: true,
      operations: {
        GET: {
          action: 'GetApplicationStatus',
          async handle(req) {
            const row = await loadApplication(deps, req.accountId, req.params['applicationId']);
            return { status: 200, body: applicationStatusResource(row) };
          },
        },
        PUT: {
          action: 'UpdateApplicationState',
          body: 'required',
          async handle(req) {
            const row = await loadApplication(deps, req.accountId, req.params['applicationId']);
            const target = requiredString(req.body, 'state', { max: 32 });
            if (target !== 'Archived' && target !== 'Active') throw invalid('state', 'must be "Archived" (archive) or "Active" (reactivate)');
            const conflict = () =>
              new ApiError('ConflictException', `Application ${row.id} is in state ${row.state}; it cannot be ${target === 'Archived' ? 'archived' : 'reactivated'}.`);
            if (target === 'Archived') {
              if (row.state === 'Archiving' || row.state === 'Archived') return { status: 200, body: applicationStatusResource(row) };
              if (row.state !== 'Active') throw conflict();
              const result = await deps.sessions.archive(row.id);
              if (!result.ok) throw conflict();
            } else {
              if (row.state === 'Active') return { status: 200, body: applicationStatusResource(row) };
              if (row.state !== 'Archived') throw conflict();
              if (!(await deps.builds.start(row.id, ['Archived'], 'reprovision'))) throw conflict();
            }
            const after = await deps.applications.get(req.accountId, row.id);
            return { status: 200, body: applicationStatusResource(after ?? row) };
          },
        },
      },
    },
  ];
}
