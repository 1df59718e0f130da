/** Applications collection (§3.2), application:create (§3.3), Application (§3.4), update (§3.5), delete. */
import { ApiError } from '../../errors/api-error.js';
import { pageLinks, pageRequest } from '../../hal/collection.js';
import { halResource, link, templated } from '../../hal/links.js';
import { paths, routePatterns } from '../../hal/paths.js';
import type { ResourceRoute } from '../../http/types.js';
import type { ApplicationRow } from '../../store/applications-repo.js';
import { UUID_RE } from '../validate.js';
import { applicationResource, applicationStatusResource } from './representation.js';
import type { ApplicationsDeps } from './deps.js';
import { validateCreate, validateUpdate } from './validation.js';

export function notFound(kind: string, id: string): ApiError {
  return new ApiError('ResourceNotFoundException', `${kind} ${id.slice(0, 64)} does not exist.`);
}

/** The caller's application or 404: other accounts' ids do not exist for this caller. */
export async function loadApplication(deps: Pick<ApplicationsDeps, 'applications'>, accountId: string, id: string | undefined): Promise<ApplicationRow> {
  const appId = id ?? '';
  const row = UUID_RE.test(appId) ? await deps.applications.get(accountId, appId) : undefined;
  if (!row) throw notFound('Application', appId);
  return row;
}

export async function renderApplication(deps: ApplicationsDeps, row: ApplicationRow): Promise<Record<string, unknown>> {
  await deps.sessions.expireDue(row.id);
  return applicationResource(row, await deps.applications.sessionCounts(row.id));
}

export function applicationsRoutes(deps: ApplicationsDeps): ResourceRoute[] {
  return [
    {
      path: routePatterns.applications,
      signed: true,
      operations: {
        GET: {
          action: 'GetApplications',
          async handle(req) {
            const page = pageRequest(deps.pageTokens, req.query);
            const rows = await deps.applications.listPage(req.accountId, page.cursor?.after, page.limit);
            const links = pageLinks(
              paths.applications(),
              deps.pageTokens,
              page,
              rows,
              (r) => ({ createdAt: r.created_at, id: r.id }),
              (r) => paths.application(r.id),
              req.query,
            );
            return {
              status: 200,
              body: halResource(paths.applications(), {
                ...links,
                'application:by-id': templated(paths.applicationTemplate()),
                'application:create': link(paths.applications()),
              }),
            };
          },
        },
        POST: {
          action: 'CreateApplication',
          rateLimit: 'createApplication',
          body: 'required',
          async handle(req) {
            const input = validateCreate(req.body, { allowFileUrls: deps.allowPrivateInstallerHosts });
            const row = await deps.applications.create({ ...input, accountId: req.accountId, sessionCapacity: deps.sessionCapacity });
            const body = applicationResource(row, { live: 0, active: 0 });
            await deps.builds.start(row.id, ['New'], 'install');
            return { status: 201, headers: { Location: paths.application(row.id) }, body };
          },
        },
      },
    },
    {
      path: routePatterns.application,
      signed: true,
      operations: {
        GET: {
          action: 'GetApplication',
          async handle(req) {
            const row = await loadApplication(deps, req.accountId, req.params['applicationId']);
            return { status: 200, body: await renderApplication(deps, row) };
          },
        },
        POST: {
          action: 'UpdateApplication',
          body: 'required',
          async handle(req) {
            const current = await loadApplication(deps, req.accountId, req.params['applicationId']);
            const patch = validateUpdate(req.body, { logBucket: current.log_bucket, logPaths: JSON.parse(current.log_paths) as string[] });
            const updated = await deps.applications.update(req.accountId, current.id, patch);
            if (updated === undefined) throw notFound('Application', current.id);
            if (updated === 'conflict') throw new ApiError('ConflictException', `Application ${current.id} is being deleted and cannot be updated.`);
            return { status: 200, body: await renderApplication(deps, updated) };
          },
        },
        DELETE: {
          action: 'DeleteApplication',
          async handle(req) {
            const row = await loadApplication(deps, req.accountId, req.params['applicationId']);
            if (!(await deps.applications.transition(row.id, ['Error'], 'Deleting', { build_step: null }))) {
              throw new ApiError('ConflictException', `Application ${row.id} is in state ${row.state}; only applications in state Error can be deleted.`);
            }
            await deps.builds.removeImage(row.id);
            await deps.applications.purge(row.id);
            return { status: 200, body: applicationStatusResource({ id: row.id, state: 'Deleting', build_step: null }) };
          },
        },
      },
    },
  ];
}
