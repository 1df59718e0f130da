/**
 * Sessions: entitlement, redemption, state changes, counters, archive interplay. Each
 * change that touches counters or the application's state runs in one transaction, and
 * every race (capacity, redemption, end) is settled by a conditional update.
 */
import type { Kysely, Transaction } from 'kysely';
import type { PageKey } from '../hal/page-token.js';
import { afterKey } from './keyset.js';
import { ApplicationsRepo, LIVE_SESSION_STATES, type NewErrorRecord } from './applications-repo.js';
import type { Dialect } from './database.js';
import { newId } from './ids.js';
import type { Database, SessionsTable } from './schema.js';

export type SessionRow = SessionsTable;
type Db = Kysely<Database> | Transaction<Database>;

export type EntitleOutcome =
  | { kind: 'ok'; session: SessionRow }
  | { kind: 'not-found' }
  | { kind: 'conflict'; state: string }
  | { kind: 'no-capacity' };

export type RedeemOutcome =
  | { kind: 'ok'; session: SessionRow }
  | { kind: 'not-found' }
  | { kind: 'expired' }
  | { kind: 'conflict'; state: string }
  | { kind: 'no-capacity' };

export type ConnectTokenOutcome =
  | { kind: 'ok'; session: SessionRow }
  | { kind: 'no-session' }
  | { kind: 'bad-token' }
  | { kind: 'used-or-expired' };

export interface EndRequest {
  to: 'Terminated' | 'Completed';
  reason: string;
  from?: readonly string[];
  error?: Omit<NewErrorRecord, 'type' | 'sessionId'>;
}

export class SessionsRepo {
  private readonly apps: ApplicationsRepo;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.apps = new ApplicationsRepo(db, now);
  }

  private iso(): string {
    return this.now().toISOString();
  }

  /** Locks the application row for the transaction on PostgreSQL (SQLite transactions are already serial). */
  private async lockApplication(trx: Db, applicationId: string) {
    let q = trx.selectFrom('applications').selectAll().where('id', '=', applicationId);
    if (this.dialect === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  }

  async entitle(
    accountId: string,
    applicationId: string,
    input: { opaqueData: string | null; expirationMinutes: number; sessionId: string; entitlementHash: string },
  ): Promise<EntitleOutcome> {
    return this.db.transaction().execute(async (trx) => {
      const app = await this.lockApplication(trx, applicationId);
      if (!app || app.account_id !== accountId) return { kind: 'not-found' };
      if (app.state !== 'Active') return { kind: 'conflict', state: app.state };
      await this.expireDue(applicationId, trx);
      const counts = await this.apps.sessionCounts(applicationId, trx);
      if (counts.live >= app.session_capacity) return { kind: 'no-capacity' };
      const createdAt = this.iso();
      const row: SessionRow = {
        id: input.sessionId,
        application_id: applicationId,
        account_id: accountId,
        state: 'Entitled',
        entitlement_hash: input.entitlementHash,
        entitlement_expires_at: new Date(this.now().getTime() + input.expirationMinutes * 60_000).toISOString(),
        opaque_data: input.opaqueData,
        error_count: 0,
        start_date: null,
        end_date: null,
        end_reason: null,
        created_at: createdAt,
        redeemed_at: null,
        connect_token_hash: null,
        connect_token_expires_at: null,
        resume_secret_hash: null,
        instance_id: null,
      };
      await trx.insertInto('sessions').values(row).execute();
      return { kind: 'ok', session: row };
    });
  }

  async get(accountId: string, applicationId: string, sessionId: string): Promise<SessionRow | undefined> {
    await this.expireDue(applicationId);
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', sessionId)
      .where('application_id', '=', applicationId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
  }

  async findByEntitlementHash(hash: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('entitlement_hash', '=', hash).executeTakeFirst();
  }

  async getInternal(sessionId: string): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
  }

  async listPage(applicationId: string, after: PageKey | undefined, limit: number): Promise<Pick<SessionRow, 'id' | 'created_at'>[]> {
    await this.expireDue(applicationId);
    let q = this.db.selectFrom('sessions').select(['id', 'created_at']).where('application_id', '=', applicationId);
    if (after) q = q.where(afterKey('created_at', after));
    return q.orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  async listLive(): Promise<SessionRow[]> {
    return this.db.selectFrom('sessions').selectAll().where('state', 'in', [...LIVE_SESSION_STATES]).execute();
  }

  /** Redeemed sessions whose program runs (ran) on the given instance. */
  async listLiveOnInstance(instanceId: string): Promise<SessionRow[]> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('state', 'in', ['Reserved', 'Active', 'Terminating'])
      .execute();
  }

  /** Instance ids that live sessions point at but that have no row any more (a reap cut short). */
  async instancesWithoutRow(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .select('instance_id')
      .distinct()
      .where('state', 'in', ['Reserved', 'Active', 'Terminating'])
      .where('instance_id', 'is not', null)
      .where('instance_id', 'not in', (eb) => eb.selectFrom('instances').select('id'))
      .execute();
    return rows.map((r) => r.instance_id!).filter((id) => id.length > 0);
  }

  /** Of the given ids, those no longer Reserved/Active (ended by another instance or request). */
  async endedAmong(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('sessions').select('id').where('id', 'in', ids).where('state', 'not in', ['Reserved', 'Active']).execute();
    return rows.map((r) => r.id);
  }

  /**
   * Entitlements past their expiry that were never redeemed become Terminated, with
   * endDate = the expiry time. Lazily on reads, and from the periodic sweep (no app id).
   */
  async expireDue(applicationId?: string, db?: Db): Promise<number> {
    const run = async (trx: Db): Promise<number> => {
      let q = trx
        .selectFrom('sessions')
        .select(['id', 'application_id', 'entitlement_expires_at'])
        .where('state', '=', 'Entitled')
        .where('entitlement_expires_at', '<=', this.iso());
      if (applicationId) q = q.where('application_id', '=', applicationId);
      const due = await q.execute();
      for (const s of due) {
        await this.endInTransaction(trx, s.id, { to: 'Terminated', reason: 'ENTITLEMENT_EXPIRED', from: ['Entitled'] }, s.entitlement_expires_at);
      }
      return due.length;
    };
    if (db) return run(db);
    // Cheap check first: most reads find nothing due and need no transaction.
    let probe = this.db.selectFrom('sessions').select('id').where('state', '=', 'Entitled').where('entitlement_expires_at', '<=', this.iso());
    if (applicationId) probe = probe.where('application_id', '=', applicationId);
    if (!(await probe.limit(1).executeTakeFirst())) return 0;
    return this.db.transaction().execute(run);
  }

  /** Redeems an entitlement once: exactly one of racing callers gets 'ok'. */
  async redeem(
    entitlementHash: string,
    grant: { connectTokenHash: string; connectTokenExpiresAt: string; resumeSecretHash: string; instanceId: string },
  ): Promise<RedeemOutcome> {
    return this.db.transaction().execute(async (trx) => {
      const session = await trx.selectFrom('sessions').selectAll().where('entitlement_hash', '=', entitlementHash).executeTakeFirst();
      if (!session) return { kind: 'not-found' };
      const app = await this.lockApplication(trx, session.application_id);
      if (session.state === 'Entitled' && session.entitlement_expires_at <= this.iso()) {
        await this.endInTransaction(trx, session.id, { to: 'Terminated', reason: 'ENTITLEMENT_EXPIRED', from: ['Entitled'] }, session.entitlement_expires_at);
        return { kind: 'expired' };
      }
      if (session.state !== 'Entitled') return { kind: 'expired' };
      if (!app || app.state !== 'Active') return { kind: 'conflict', state: app?.state ?? 'Unknown' };
      const counts = await this.apps.sessionCounts(app.id, trx);
      if (counts.active >= app.session_capacity) return { kind: 'no-capacity' };
      const res = await trx
        .updateTable('sessions')
        .set({
          state: 'Reserved',
          redeemed_at: this.iso(),
          connect_token_hash: grant.connectTokenHash,
          connect_token_expires_at: grant.connectTokenExpiresAt,
          resume_secret_hash: grant.resumeSecretHash,
          instance_id: grant.instanceId,
        })
        .where('id', '=', session.id)
        .where('state', '=', 'Entitled')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return { kind: 'expired' };
      return { kind: 'ok', session: { ...session, state: 'Reserved' } };
    });
  }

  /**
   * Consumes a connect token (single use). A used token keeps its hash with no expiry, so a
   * replay is told apart from a token that never existed (410 vs 401), across restarts too.
   */
  async consumeConnectToken(sessionId: string, tokenHash: string): Promise<ConnectTokenOutcome> {
    const session = await this.getInternal(sessionId);
    if (!session) return { kind: 'no-session' };
    if (session.connect_token_hash !== tokenHash) return { kind: 'bad-token' };
    const res = await this.db
      .updateTable('sessions')
      .set({ connect_token_expires_at: null })
      .where('id', '=', sessionId)
      .where('connect_token_hash', '=', tokenHash)
      .where('connect_token_expires_at', '>', this.iso())
      .where('state', 'in', ['Reserved', 'Active'])
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0 ? { kind: 'ok', session } : { kind: 'used-or-expired' };
  }

  async issueConnectToken(sessionId: string, resumeSecretHash: string, tokenHash: string, expiresAt: string): Promise<boolean> {
    const res = await this.db
      .updateTable('sessions')
      .set({ connect_token_hash: tokenHash, connect_token_expires_at: expiresAt })
      .where('id', '=', sessionId)
      .where('resume_secret_hash', '=', resumeSecretHash)
      .where('state', 'in', ['Reserved', 'Active'])
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Reserved → Active on first attach; startDate set once. */
  async markActive(sessionId: string): Promise<boolean> {
    const res = await this.db
      .updateTable('sessions')
      .set({ state: 'Active', start_date: this.iso() })
      .where('id', '=', sessionId)
      .where('state', '=', 'Reserved')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Ends a live session (endDate set exactly once); finishes an archive if it was the last. */
  async end(sessionId: string, request: EndRequest): Promise<SessionRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await this.endInTransaction(trx, sessionId, request);
      return trx.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
    });
  }

  /** Records a session error event: session errorCount, app sessionErrorCount and a Session error record. */
  async recordError(sessionId: string, error: Omit<NewErrorRecord, 'type' | 'sessionId'>): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const s = await trx.selectFrom('sessions').select(['application_id', 'account_id']).where('id', '=', sessionId).executeTakeFirst();
      if (!s) return;
      await this.recordErrorInTransaction(trx, sessionId, s.application_id, s.account_id, error);
    });
  }

  private async recordErrorInTransaction(trx: Db, sessionId: string, applicationId: string, accountId: string, error: Omit<NewErrorRecord, 'type' | 'sessionId'>) {
    await trx.updateTable('sessions').set((eb) => ({ error_count: eb('error_count', '+', 1) })).where('id', '=', sessionId).execute();
    await trx
      .updateTable('applications')
      .set((eb) => ({ session_error_count: eb('session_error_count', '+', 1) }))
      .where('id', '=', applicationId)
      .execute();
    await this.apps.insertError(trx, applicationId, accountId, { ...error, type: 'Session', sessionId });
  }

  private async endInTransaction(trx: Db, sessionId: string, request: EndRequest, endDate: string = this.iso()): Promise<boolean> {
    const from = request.from ?? LIVE_SESSION_STATES;
    const res = await trx
      .updateTable('sessions')
      .set({ state: request.to, end_date: endDate, end_reason: request.reason, connect_token_expires_at: null })
      .where('id', '=', sessionId)
      .where('state', 'in', [...from])
      .where('end_date', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    const s = await trx.selectFrom('sessions').select(['application_id', 'account_id']).where('id', '=', sessionId).executeTakeFirstOrThrow();
    if (request.error) await this.recordErrorInTransaction(trx, sessionId, s.application_id, s.account_id, request.error);
    await this.finishArchiveIfIdle(trx, s.application_id);
    return true;
  }

  private async finishArchiveIfIdle(trx: Db, applicationId: string): Promise<void> {
    const counts = await this.apps.sessionCounts(applicationId, trx);
    if (counts.live === 0) await this.apps.transition(applicationId, ['Archiving'], 'Archived', { build_step: null }, trx);
  }

  /**
   * Archive (§3.6.3): Active → Archiving; un-redeemed sessions are terminated; if nothing
   * is live any more, straight on to Archived. Returns the live session ids left running.
   */
  async archive(applicationId: string): Promise<{ ok: boolean; stillLive: string[] }> {
    return this.db.transaction().execute(async (trx) => {
      const app = await this.lockApplication(trx, applicationId);
      if (!app || app.state !== 'Active') return { ok: false, stillLive: [] };
      await this.apps.transition(applicationId, ['Active'], 'Archiving', { build_step: null }, trx);
      const entitled = await trx.selectFrom('sessions').select('id').where('application_id', '=', applicationId).where('state', '=', 'Entitled').execute();
      for (const s of entitled) await this.endInTransaction(trx, s.id, { to: 'Terminated', reason: 'APPLICATION_ARCHIVED', from: ['Entitled'] });
      await this.finishArchiveIfIdle(trx, applicationId);
      const live = await trx.selectFrom('sessions').select('id').where('application_id', '=', applicationId).where('state', 'in', [...LIVE_SESSION_STATES]).execute();
      return { ok: true, stillLive: live.map((s) => s.id) };
    });
  }
}
