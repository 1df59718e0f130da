/**
 * Which store the integration tests run against. Default: SQLite in the server's data folder.
 * With APPSTREAMD_TEST_STORE=postgres each test server gets a fresh PostgreSQL database on the
 * local cluster (127.0.0.1:5432, trust auth), dropped when the test is done with it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_STORE = process.env['APPSTREAMD_TEST_STORE'] === 'postgres' ? 'postgres' : 'sqlite';
const ADMIN_URL = process.env['APPSTREAMD_TEST_PG_ADMIN_URL'] ?? 'postgres://root@127.0.0.1:5432/test';

/** dataDir → database URL, so a restarted server on the same data folder finds the same database. */
const databases = new Map<string, string>();

export async function databaseUrlFor(dataDir: string): Promise<string | undefined> {
  if (TEST_STORE !== 'postgres') return undefined;
  const existing = databases.get(dataDir);
  if (existing) return existing;
  const url = await createDatabase();
  databases.set(dataDir, url);
  return url;
}

/** Creates a fresh, empty PostgreSQL database on the local cluster; returns its URL. */
export async function createDatabase(): Promise<string> {
  const name = `appstreamd_t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by createDatabase (closing its remaining connections). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  if (!/^appstreamd_t_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a test database`);
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}

export async function dropDatabaseFor(dataDir: string): Promise<void> {
  const url = databases.get(dataDir);
  if (!url) return;
  databases.delete(dataDir);
  await dropDatabase(url);
}
