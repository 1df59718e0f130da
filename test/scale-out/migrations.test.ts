/**
 * Instances starting at the same moment on an empty PostgreSQL database: the migrations run
 * exactly once (kysely holds a PostgreSQL advisory lock around them), and no start fails.
 * A migration that ran twice would fail its start (its CREATE TABLEs have no IF NOT EXISTS)
 * or leave a second schema_meta row.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/database.js';
import { migrations } from '../../src/store/migrations/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { rawRequest, SignedClient } from '../helpers/signed-client.js';
import { createDatabase, dropDatabase } from '../helpers/test-store.js';
import { BASE_ENV, REDIS_URL, requireBackends, skipUnlessBackends } from './support.js';

const EXPECTED = Object.keys(migrations).sort();

async function assertMigratedOnce(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>('select name from kysely_migration order by name');
    assert.deepEqual(rows.map((r) => r.name), EXPECTED, 'exactly one kysely_migration row per migration');
    const meta = await client.query<{ n: string }>(`select count(*) as n from schema_meta where key = 'created'`);
    assert.equal(Number(meta.rows[0]!.n), 1, 'the first migration ran once');
    const lock = await client.query<{ n: string }>(`select count(*) as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`);
    assert.equal(Number(lock.rows[0]!.n), 0, 'the migration lock was released');
  } finally {
    await client.end();
  }
}

describe('concurrent starts on an empty PostgreSQL database', () => {
  before(requireBackends);

  test('three openStore calls at once migrate once (five rounds, fresh database each)', { skip: skipUnlessBackends }, async () => {
    for (let round = 0; round < 5; round++) {
      const databaseUrl = await createDatabase();
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-scale-mig-'));
      try {
        const results = await Promise.allSettled([0, 1, 2].map(() => openStore({ dataDir, databaseUrl })));
        for (const r of results) if (r.status === 'fulfilled') await r.value.close();
        const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        assert.deepEqual(failed, [], `round ${round}: a concurrent start failed`);
        await assertMigratedOnce(databaseUrl);
      } finally {
        await dropDatabase(databaseUrl);
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  });

  test('three instances started at once (Promise.all of startServer) all come up and migrate once', { skip: skipUnlessBackends }, async () => {
    const databaseUrl = await createDatabase();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-scale-mig-'));
    const env = { ...BASE_ENV, APPSTREAMD_DATABASE_URL: databaseUrl, APPSTREAMD_REDIS_URL: REDIS_URL };
    const started: TestServer[] = [];
    try {
      const results = await Promise.allSettled([0, 1, 2].map(() => startServer(env, { dataDir })));
      for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      assert.deepEqual(failed, [], 'a concurrent start failed');
      await assertMigratedOnce(databaseUrl);
      // All three serve, on the one shared store: each one's key works on every instance.
      const ids = new Set<string>();
      for (const server of started) {
        const health = await rawRequest(server.url, { method: 'GET', path: '/health' });
        assert.equal(health.status, 200, health.text);
        ids.add(health.json.instanceId as string);
        for (const other of started) {
          const root = await new SignedClient(other.url, server.credentials).get('/');
          assert.equal(root.status, 200, root.text);
        }
      }
      assert.equal(ids.size, 3, 'three distinct instances');
      // None reaped another as lost while they were all starting.
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ id: string }>('select id from instances order by id');
        assert.deepEqual(rows.map((r) => r.id), [...ids].sort(), 'every started instance is registered');
      } finally {
        await client.end();
      }
    } finally {
      for (const s of started) await s.stop({ keepData: true }).catch(() => undefined);
      await dropDatabase(databaseUrl);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
