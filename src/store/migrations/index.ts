/**
 * Versioned migrations, portable SQL through kysely's schema builder so the same code runs
 * on SQLite and PostgreSQL. Never edit a migration that has shipped: add a new one.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { sql } from 'kysely';

const m0001_initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('accounts')
      .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(128)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('access_keys')
      .addColumn('access_key_id', 'varchar(128)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(32)', (c) => c.notNull().references('accounts.id'))
      .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('revoked_at', 'varchar(32)')
      .execute();
    await db.schema.createIndex('access_keys_account').on('access_keys').columns(['account_id']).execute();

    await db.schema
      .createTable('applications')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('installer_url', 'text', (c) => c.notNull())
      .addColumn('installer_parameters', 'text', (c) => c.notNull())
      .addColumn('launch_path', 'text', (c) => c.notNull())
      .addColumn('launch_parameters', 'text', (c) => c.notNull())
      .addColumn('log_bucket', 'text')
      .addColumn('log_paths', 'text', (c) => c.notNull())
      .addColumn('stream_protocol', 'varchar(16)', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('build_step', 'varchar(16)')
      .addColumn('sdk_version', 'text')
      .addColumn('application_error_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('session_error_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('session_capacity', 'integer', (c) => c.notNull())
      .addColumn('image_digest', 'varchar(64)')
      .addColumn('build_generation', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('last_updated_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    // Keyset pagination: (account, created, id) makes a page cost independent of the table size.
    await db.schema.createIndex('applications_page').on('applications').columns(['account_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('applications_state').on('applications').columns(['state']).execute();

    await db.schema
      .createTable('application_errors')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('application_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('error_code', 'varchar(64)', (c) => c.notNull())
      .addColumn('cause', 'text', (c) => c.notNull())
      .addColumn('solution', 'text', (c) => c.notNull())
      .addColumn('error_date', 'varchar(32)', (c) => c.notNull())
      .addColumn('session_id', 'varchar(36)')
      .execute();
    await db.schema.createIndex('application_errors_page').on('application_errors').columns(['application_id', 'error_date', 'id']).execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('application_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('account_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('entitlement_hash', 'varchar(64)', (c) => c.notNull().unique())
      .addColumn('entitlement_expires_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('opaque_data', 'text')
      .addColumn('error_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('start_date', 'varchar(32)')
      .addColumn('end_date', 'varchar(32)')
      .addColumn('end_reason', 'varchar(32)')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('redeemed_at', 'varchar(32)')
      .addColumn('connect_token_hash', 'varchar(64)')
      .addColumn('connect_token_expires_at', 'varchar(32)')
      .addColumn('resume_secret_hash', 'varchar(64)')
      .addColumn('instance_id', 'varchar(64)')
      .execute();
    await db.schema.createIndex('sessions_page').on('sessions').columns(['application_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('sessions_live').on('sessions').columns(['application_id', 'state']).execute();
    await db.schema.createIndex('sessions_state').on('sessions').columns(['state', 'entitlement_expires_at']).execute();

    await db.schema
      .createTable('schema_meta')
      .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await sql`insert into schema_meta (key, value) values ('created', 'appstreamd')`.execute(db);
  },
  async down(): Promise<void> {
    throw new Error('downgrades are not supported');
  },
};

/** The table rate-limiter-flexible's PostgreSQL store uses (shared limits without Redis). */
const m0002_rate_limits: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('rate_limits')
      .ifNotExists()
      .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expire', 'bigint')
      .execute();
  },
  async down(): Promise<void> {
    throw new Error('downgrades are not supported');
  },
};

/** Scale-out: live instances with a heartbeat lease; which instance runs each build. */
const m0003_instances: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('instances')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('public_url', 'text', (c) => c.notNull())
      .addColumn('started_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('heartbeat_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('applications').addColumn('build_owner', 'varchar(36)').execute();
  },
  async down(): Promise<void> {
    throw new Error('downgrades are not supported');
  },
};

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001_initial,
  '0002_rate_limits': m0002_rate_limits,
  '0003_instances': m0003_instances,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
