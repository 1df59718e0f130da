/**
 * The keyset condition of every paged collection: rows strictly after (time, id) in
 * (time, id) order. The plain `>=` bound lets the index seek straight to the key (the OR
 * alone made SQLite scan from the start); the OR settles ties by id.
 */
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { PageKey } from '../hal/page-token.js';

export function afterKey(timeColumn: 'created_at' | 'error_date', after: PageKey): RawBuilder<SqlBool> {
  const t = sql.ref(timeColumn);
  return sql<SqlBool>`(${t} >= ${after.createdAt} and (${t} > ${after.createdAt} or (${t} = ${after.createdAt} and id > ${after.id})))`;
}
