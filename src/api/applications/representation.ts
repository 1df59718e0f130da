/** The Application resource (§3.4) and Application Status (§3.6) as HAL. */
import { halResource, link, templated } from '../../hal/links.js';
import { paths } from '../../hal/paths.js';
import type { ApplicationRow, SessionCounts } from '../../store/applications-repo.js';
import { joinLaunchCommand } from './validation.js';

export function applicationResource(row: ApplicationRow, counts: SessionCounts): Record<string, unknown> {
  const id = row.id;
  const available = row.state === 'Active' ? Math.max(0, row.session_capacity - counts.live) : 0;
  return halResource(
    paths.application(id),
    {
      'application:status': link(paths.applicationStatus(id)),
      'application:update': link(paths.application(id)),
      'application:errors': link(paths.applicationErrors(id)),
      'application:archive': link(paths.applicationStatus(id)),
      'application:reactivate': link(paths.applicationStatus(id)),
      'application:delete': link(paths.application(id)),
      'application:sessions': link(paths.sessions(id)),
      'session:by-id': templated(paths.sessionTemplate(id)),
      'session:entitle': link(paths.sessions(id)),
      collection: link(paths.applications()),
    },
    {
      id,
      name: row.name,
      description: row.description,
      installerUrl: row.installer_url,
      installerParameters: row.installer_parameters,
      launchPath: row.launch_path,
      launchParameters: row.launch_parameters,
      launchCommand: joinLaunchCommand(row.launch_path, row.launch_parameters),
      streamProtocol: row.stream_protocol,
      sdkVersion: row.sdk_version,
      applicationErrorCount: Number(row.application_error_count),
      sessionErrorCount: Number(row.session_error_count),
      activeSessions: counts.active,
      availableSessions: available,
      createdDate: row.created_at,
      lastUpdatedDate: row.last_updated_at,
      logBucket: row.log_bucket,
      logPaths: JSON.parse(row.log_paths) as string[],
    },
  );
}

export function applicationStatusResource(row: Pick<ApplicationRow, 'id' | 'state' | 'build_step'>): Record<string, unknown> {
  const props: Record<string, unknown> = { state: row.state };
  if ((row.state === 'Building' || row.state === 'Error') && row.build_step) props['buildStep'] = row.build_step;
  props['setupUrl'] = null;
  props['setupEntitlement'] = null;
  return halResource(paths.applicationStatus(row.id), { up: link(paths.application(row.id)) }, props);
}
