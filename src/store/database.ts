/**
 * Opens the state store: SQLite in the data folder by default, PostgreSQL when a
 * database URL is configured. Both run the same kysely migrations.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations/index.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { withStatementCache } from './sqlite-statement-cache.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface StoreHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  dataDir: string;
  databaseUrl: string | null;
}

export async function openStore(options: OpenStoreOptions): Promise<StoreHandle> {
  const handle = options.databaseUrl ? openPostgres(options.databaseUrl) : openSqlite(options.dataDir);
  try {
    await migrate(handle.db);
  } catch (err) {
    await handle.close().catch(() => undefined); // a failed start must not leave the pool open
    throw err;
  }
  return handle;
}

function openSqlite(dataDir: string): StoreHandle {
  mkdirSync(dataDir, { recursive: true });
  const filePath = path.join(dataDir, 'appstreamd.sqlite');
  const file = new SQLite(filePath);
  chmodSync(filePath, 0o600); // sessions run as other uids; WAL/SHM files inherit this mode
  // WAL with synchronous=NORMAL: a committed transaction survives a process crash
  // (only an OS crash could lose the last commits); busy_timeout covers CLI + server.
  file.pragma('journal_mode = WAL');
  file.pragma('synchronous = NORMAL');
  file.pragma('busy_timeout = 5000');
  // Checkpoints run in a worker (sqlite-checkpointer.ts); this only bounds the WAL if it stops.
  file.pragma('wal_autocheckpoint = 20000');
  file.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(file) }) });
  const checkpointer = startCheckpointer(filePath);
  return {
    db,
    dialect: 'sqlite',
    async close() {
      await checkpointer.stop();
      await db.destroy();
    },
  };
}

function openPostgres(url: string): StoreHandle {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle connection closed by the server (restart, failover, pg_terminate_backend) is an
  // 'error' event on the pool; unheard, it would crash the process. The pool drops that
  // client and the next query opens a new one, so there is nothing else to do.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** Runs pending migrations; kysely takes a lock (an advisory lock on PostgreSQL) so concurrent starts migrate once. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
