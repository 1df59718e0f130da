/**
 * Applications and their error records. Every state change is a conditional update
 * (`where state in (...)`), so concurrent requests and builds never overwrite each other,
 * on SQLite or PostgreSQL alike.
 */
import type { Kysely, Transaction } from 'kysely';
import type { PageKey } from '../hal/page-token.js';
import { afterKey } from './keyset.js';
import { newId } from './ids.js';
import type { ApplicationErrorsTable, ApplicationsTable, Database } from './schema.js';

export type ApplicationRow = ApplicationsTable;
export type ApplicationErrorRow = ApplicationErrorsTable;

export const LIVE_SESSION_STATES = ['Entitled', 'Reserved', 'Active', 'Terminating'] as const;
export const ACTIVE_SESSION_STATES = ['Reserved', 'Active'] as const;

export interface NewApplication {
  accountId: string;
  name: string;
  description: string | null;
  installerUrl: string;
  installerParameters: string;
  launchPath: string;
  launchParameters: string;
  logBucket: string | null;
  logPaths: string[];
  streamProtocol: string;
  sessionCapacity: number;
}

export interface ApplicationPatch {
  name?: string;
  description?: string | null;
  launchPath?: string;
  launchParameters?: string;
  logBucket?: string | null;
  logPaths?: string[];
  streamProtocol?: string;
}

export interface NewErrorRecord {
  type: 'Application' | 'Session';
  errorCode: string;
  cause: string;
  solution: string;
  sessionId?: string | null;
}

export interface SessionCounts {
  live: number;
  active: number;
}

type Db = Kysely<Database> | Transaction<Database>;

export class ApplicationsRepo {
  constructor(private readonly db: Kysely<Database>, private readonly now: () => Date = () => new Date()) {}

  private iso(): string {
    return this.now().toISOString();
  }

  async create(input: NewApplication): Promise<ApplicationRow> {
    const at = this.iso();
    const row: ApplicationRow = {
      id: newId(),
      account_id: input.accountId,
      name: input.name,
      description: input.description,
      installer_url: input.installerUrl,
      installer_parameters: input.installerParameters,
      launch_path: input.launchPath,
      launch_parameters: input.launchParameters,
      log_bucket: input.logBucket,
      log_paths: JSON.stringify(input.logPaths),
      stream_protocol: input.streamProtocol,
      state: 'New',
      build_step: null,
      sdk_version: null,
      application_error_count: 0,
      session_error_count: 0,
      session_capacity: input.sessionCapacity,
      image_digest: null,
      build_generation: 0,
      build_owner: null,
      created_at: at,
      last_updated_at: at,
    };
    await this.db.insertInto('applications').values(row).execute();
    return row;
  }

  /** The account's application, or undefined (other accounts' ids are invisible). */
  async get(accountId: string, id: string, db: Db = this.db): Promise<ApplicationRow | undefined> {
    return db.selectFrom('applications').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  }

  async getInternal(id: string, db: Db = this.db): Promise<ApplicationRow | undefined> {
    return db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** One keyset page: items strictly after `after` in (created_at, id) order; limit+1 rows tell if more exist. */
  async listPage(accountId: string, after: PageKey | undefined, limit: number): Promise<Pick<ApplicationRow, 'id' | 'created_at'>[]> {
    let q = this.db.selectFrom('applications').select(['id', 'created_at']).where('account_id', '=', accountId);
    if (after) q = q.where(afterKey('created_at', after));
    return q.orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  async listByState(states: readonly string[]): Promise<ApplicationRow[]> {
    return this.db.selectFrom('applications').selectAll().where('state', 'in', [...states]).execute();
  }

  /** Partial update; refuses (returns 'conflict') while Deleting. */
  async update(accountId: string, id: string, patch: ApplicationPatch): Promise<ApplicationRow | 'conflict' | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const current = await this.get(accountId, id, trx);
      if (!current) return undefined;
      if (current.state === 'Deleting') return 'conflict';
      const set: Partial<ApplicationRow> = {};
      if (patch.name !== undefined && patch.name !== current.name) set.name = patch.name;
      if (patch.description !== undefined && patch.description !== current.description) set.description = patch.description;
      if (patch.launchPath !== undefined && patch.launchPath !== current.launch_path) set.launch_path = patch.launchPath;
      if (patch.launchParameters !== undefined && patch.launchParameters !== current.launch_parameters) set.launch_parameters = patch.launchParameters;
      if (patch.logBucket !== undefined && patch.logBucket !== current.log_bucket) set.log_bucket = patch.logBucket;
      if (patch.logPaths !== undefined && JSON.stringify(patch.logPaths) !== current.log_paths) set.log_paths = JSON.stringify(patch.logPaths);
      if (patch.streamProtocol !== undefined && patch.streamProtocol !== current.stream_protocol) set.stream_protocol = patch.streamProtocol;
      if (Object.keys(set).length === 0) return current;
      set.last_updated_at = this.iso();
      await trx.updateTable('applications').set(set).where('id', '=', id).where('state', '!=', 'Deleting').execute();
      return { ...current, ...set };
    });
  }

  /** Conditional state change; returns the new row, or undefined if the app was not in `from`. */
  async transition(
    id: string,
    from: readonly string[],
    to: string,
    extra: Partial<ApplicationRow> = {},
    db: Db = this.db,
  ): Promise<boolean> {
    const res = await db
      .updateTable('applications')
      .set({ state: to, last_updated_at: this.iso(), ...extra })
      .where('id', '=', id)
      .where('state', 'in', [...from])
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /**
   * Starts (or restarts) a build owned by `owner`: returns the generation the build owns, or
   * undefined if not allowed. The generation check makes two instances racing for the same
   * application settle on one.
   */
  async beginBuild(id: string, from: readonly string[], firstStep: string, owner: string | null = null): Promise<number | undefined> {
    const row = await this.getInternal(id);
    if (!row || !from.includes(row.state)) return undefined;
    const generation = row.build_generation + 1;
    const res = await this.db
      .updateTable('applications')
      .set({ state: 'Building', build_step: firstStep, build_generation: generation, build_owner: owner, last_updated_at: this.iso() })
      .where('id', '=', id)
      .where('state', '=', row.state)
      .where('build_generation', '=', row.build_generation)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0 ? generation : undefined;
  }

  /** Builds left unfinished by instances not in `aliveOwners` (null owner: a single-instance restart). */
  async listOrphanBuilds(aliveOwners: string[]): Promise<ApplicationRow[]> {
    let q = this.db.selectFrom('applications').selectAll().where('state', 'in', ['New', 'Building']);
    if (aliveOwners.length > 0) q = q.where((eb) => eb.or([eb('build_owner', 'is', null), eb('build_owner', 'not in', aliveOwners)]));
    return q.execute();
  }

  /** Records the step a build is in; false if the build no longer owns the application. */
  async setBuildStep(id: string, generation: number, step: string): Promise<boolean> {
    const res = await this.db
      .updateTable('applications')
      .set({ build_step: step, last_updated_at: this.iso() })
      .where('id', '=', id)
      .where('state', '=', 'Building')
      .where('build_generation', '=', generation)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async completeBuild(id: string, generation: number, digest: string): Promise<boolean> {
    const res = await this.db
      .updateTable('applications')
      .set({ state: 'Active', build_step: null, image_digest: digest, last_updated_at: this.iso() })
      .where('id', '=', id)
      .where('state', '=', 'Building')
      .where('build_generation', '=', generation)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Build failed: Error state with the failing step, one error record, counter +1, atomically. */
  async failBuild(id: string, generation: number | null, step: string, record: NewErrorRecord): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      let q = trx
        .updateTable('applications')
        .set((eb) => ({
          state: 'Error',
          build_step: step,
          last_updated_at: this.iso(),
          application_error_count: eb('application_error_count', '+', 1),
        }))
        .where('id', '=', id)
        .where('state', '=', 'Building');
      if (generation !== null) q = q.where('build_generation', '=', generation);
      const res = await q.executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      const app = await this.getInternal(id, trx);
      await this.insertError(trx, id, app!.account_id, record);
      return true;
    });
  }

  async insertError(db: Db, applicationId: string, accountId: string, record: NewErrorRecord): Promise<ApplicationErrorRow> {
    const row: ApplicationErrorRow = {
      id: newId(),
      application_id: applicationId,
      account_id: accountId,
      state: 'New',
      type: record.type,
      error_code: record.errorCode,
      cause: record.cause,
      solution: record.solution,
      error_date: this.iso(),
      session_id: record.sessionId ?? null,
    };
    await db.insertInto('application_errors').values(row).execute();
    return row;
  }

  /** Removes the application and everything under it. */
  async purge(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('sessions').where('application_id', '=', id).execute();
      await trx.deleteFrom('application_errors').where('application_id', '=', id).execute();
      await trx.deleteFrom('applications').where('id', '=', id).execute();
    });
  }

  async sessionCounts(applicationId: string, db: Db = this.db): Promise<SessionCounts> {
    const rows = await db
      .selectFrom('sessions')
      .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('application_id', '=', applicationId)
      .where('state', 'in', [...LIVE_SESSION_STATES])
      .groupBy('state')
      .execute();
    let live = 0;
    let active = 0;
    for (const r of rows) {
      const n = Number(r.n);
      live += n;
      if ((ACTIVE_SESSION_STATES as readonly string[]).includes(r.state)) active += n;
    }
    return { live, active };
  }

  // --- error records -------------------------------------------------------------

  async listErrorsPage(applicationId: string, after: PageKey | undefined, limit: number): Promise<Pick<ApplicationErrorRow, 'id' | 'error_date'>[]> {
    let q = this.db
      .selectFrom('application_errors')
      .select(['id', 'error_date'])
      .where('application_id', '=', applicationId)
      .where('state', '!=', 'Deleted');
    if (after) q = q.where(afterKey('error_date', after));
    return q.orderBy('error_date').orderBy('id').limit(limit).execute();
  }

  /** Fetches an error record; the first read moves it New → Read (that first answer still shows New). */
  async readError(applicationId: string, errorId: string): Promise<ApplicationErrorRow | undefined> {
    const row = await this.db
      .selectFrom('application_errors')
      .selectAll()
      .where('id', '=', errorId)
      .where('application_id', '=', applicationId)
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.state === 'New') {
      await this.db.updateTable('application_errors').set({ state: 'Read' }).where('id', '=', errorId).where('state', '=', 'New').execute();
    }
    return row;
  }
}
