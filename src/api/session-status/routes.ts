/** Session Status (§3.12): GET, and PUT {"state":"Terminated"} = session:terminate. */
import { routePatterns } from '../../hal/paths.js';
import type { ResourceRoute } from '../../http/types.js';
import type { SessionsDeps } from '../sessions/deps.js';
import { sessionStatusResource } from '../sessions/representation.js';
import { loadSession } from '../sessions/routes.js';
import { invalid, requiredString } from '../validate.js';

export function sessionStatusRoutes(deps: SessionsDeps): ResourceRoute[] {
  return [
    {
      path: routePatterns.sessionStatus,
      signed: true,
      operations: {
        GET: {
          action: 'GetSessionStatus',
          async handle(req) {
            const row = await loadSession(deps, req.accountId, req.params['applicationId'], req.params['sessionId']);
            return { status: 200, body: sessionStatusResource(row) };
          },
        },
        PUT: {
          action: 'UpdateSessionState',
          body: 'required',
          async handle(req) {
            const row = await loadSession(deps, req.accountId, req.params['applicationId'], req.params['sessionId']);
            const state = requiredString(req.body, 'state', { max: 32 });
            if (state !== 'Terminated') throw invalid('state', 'must be "Terminated"');
            // Terminating → Terminated with a teardown delay of 0: the answer already shows Terminated.
            const ended = await deps.sessions.end(row.id, { to: 'Terminated', reason: 'TERMINATED_BY_API' });
            deps.control.terminated(row.id);
            return { status: 200, body: sessionStatusResource(ended ?? row) };
          },
        },
      },
    },
  ];
}
