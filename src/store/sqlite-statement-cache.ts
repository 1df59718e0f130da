/**
 * Reuses prepared statements. kysely prepares every query anew; with better-sqlite3 each
 * statement holds native memory until V8 happens to collect its small JS wrapper, so a busy
 * server's RSS climbs while its JS heap stays flat, and preparing costs CPU on every query.
 * kysely runs one query at a time on the connection (its mutex) and never streams here, so
 * sharing a statement between queries with the same SQL is safe.
 */
import type { Database as SqliteFile, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

export function withStatementCache(file: SqliteFile, maxEntries = 500): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => file.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql); // most recently used goes last
      } else {
        stmt = file.prepare(sql);
        if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}
