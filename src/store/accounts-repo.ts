/** Accounts and their access keys. Secrets are sealed before they touch the database. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { SecretBox } from './secret-box.js';
import { newAccessKeyId, newAccountId, newSecretAccessKey } from './ids.js';

export interface Account { accountId: string; name: string; createdAt: string }
export interface AccessKeyInfo { accessKeyId: string; accountId: string; createdAt: string; revokedAt: string | null }
export interface NewCredentials { accountId: string; accessKeyId: string; secretAccessKey: string }
export interface ActiveCredential { accessKeyId: string; secretAccessKey: string; accountId: string }

export class AccountsRepo {
  /** Told about every key revoked through this repository (the server's credential cache). */
  onRevoke?: (accessKeyId: string) => void;

  constructor(private readonly db: Kysely<Database>, private readonly box: SecretBox) {}

  async createAccount(name: string, id: string = newAccountId()): Promise<Account> {
    const createdAt = new Date().toISOString();
    await this.db.insertInto('accounts').values({ id, name, created_at: createdAt }).execute();
    return { accountId: id, name, createdAt };
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { accountId: row.id, name: row.name, createdAt: row.created_at } : undefined;
  }

  async findAccountByName(name: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom('accounts').selectAll().where('name', '=', name).orderBy('created_at').executeTakeFirst();
    return row ? { accountId: row.id, name: row.name, createdAt: row.created_at } : undefined;
  }

  async countAccounts(): Promise<number> {
    const row = await this.db.selectFrom('accounts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createKey(accountId: string, accessKeyId: string = newAccessKeyId(), secretAccessKey: string = newSecretAccessKey()): Promise<NewCredentials> {
    await this.db
      .insertInto('access_keys')
      .values({
        access_key_id: accessKeyId,
        account_id: accountId,
        secret_ciphertext: this.box.seal(secretAccessKey),
        created_at: new Date().toISOString(),
        revoked_at: null,
      })
      .execute();
    return { accountId, accessKeyId, secretAccessKey };
  }

  async createAccountWithKey(name: string): Promise<NewCredentials> {
    return this.db.transaction().execute(async (trx) => {
      const repo = new AccountsRepo(trx, this.box);
      const account = await repo.createAccount(name);
      return repo.createKey(account.accountId);
    });
  }

  async listKeys(accountId?: string): Promise<AccessKeyInfo[]> {
    let q = this.db.selectFrom('access_keys').select(['access_key_id', 'account_id', 'created_at', 'revoked_at']).orderBy('created_at');
    if (accountId) q = q.where('account_id', '=', accountId);
    const rows = await q.execute();
    return rows.map((r) => ({ accessKeyId: r.access_key_id, accountId: r.account_id, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  /** Returns false when the key does not exist or was already revoked. */
  async revokeKey(accessKeyId: string): Promise<boolean> {
    const res = await this.db
      .updateTable('access_keys')
      .set({ revoked_at: new Date().toISOString() })
      .where('access_key_id', '=', accessKeyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    this.onRevoke?.(accessKeyId);
    return Number(res.numUpdatedRows) > 0;
  }

  /** The credential SigV4 verification needs, or undefined for unknown/revoked keys. */
  async findActiveCredential(accessKeyId: string): Promise<ActiveCredential | undefined> {
    const row = await this.db
      .selectFrom('access_keys')
      .select(['access_key_id', 'account_id', 'secret_ciphertext'])
      .where('access_key_id', '=', accessKeyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    return { accessKeyId: row.access_key_id, accountId: row.account_id, secretAccessKey: this.box.open(row.secret_ciphertext) };
  }

  /**
   * Root credentials from the environment: account `root` owning exactly this key. Instances
   * starting together may race to create it; the loser's insert fails and its retry finds it.
   */
  async ensureRootKey(accessKeyId: string, secretAccessKey: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ensureRootKeyOnce(accessKeyId, secretAccessKey);
      } catch (err) {
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  private async ensureRootKeyOnce(accessKeyId: string, secretAccessKey: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const repo = new AccountsRepo(trx, this.box);
      const root = (await repo.findAccountByName('root')) ?? (await repo.createAccount('root'));
      const existing = await trx.selectFrom('access_keys').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
      if (existing) {
        await trx
          .updateTable('access_keys')
          .set({ account_id: root.accountId, secret_ciphertext: this.box.seal(secretAccessKey), revoked_at: null })
          .where('access_key_id', '=', accessKeyId)
          .execute();
      } else {
        await repo.createKey(root.accountId, accessKeyId, secretAccessKey);
      }
    });
  }
}
