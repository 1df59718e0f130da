/** Session (§3.11) and Session Status (§3.12) as HAL. */
import { halResource, link } from '../../hal/links.js';
import { paths } from '../../hal/paths.js';
import type { SessionRow } from '../../store/sessions-repo.js';

export function sessionResource(row: SessionRow, entitlementUrl: string): Record<string, unknown> {
  const self = paths.session(row.application_id, row.id);
  return halResource(
    self,
    {
      'session:status': link(paths.sessionStatus(row.application_id, row.id)),
      'session:terminate': link(paths.sessionStatus(row.application_id, row.id)),
      collection: link(paths.sessions(row.application_id)),
    },
    {
      id: row.id,
      entitlementUrl,
      opaqueData: row.opaque_data,
      errorCount: Number(row.error_count),
      startDate: row.start_date,
      endDate: row.end_date,
      // Extra (non-v1) detail: why the session ended.
      endReason: row.end_reason,
    },
  );
}

export function sessionStatusResource(row: Pick<SessionRow, 'id' | 'application_id' | 'state'>): Record<string, unknown> {
  return halResource(paths.sessionStatus(row.application_id, row.id), { up: link(paths.session(row.application_id, row.id)) }, { state: row.state });
}
