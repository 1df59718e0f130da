/** Instances serving one deployment, each with a heartbeat lease (scale-out). */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export class InstancesRepo {
  constructor(private readonly db: Kysely<Database>, private readonly now: () => Date = () => new Date()) {}

  async register(id: string, publicUrl: string): Promise<void> {
    const at = this.now().toISOString();
    await this.db.insertInto('instances').values({ id, public_url: publicUrl, started_at: at, heartbeat_at: at }).execute();
  }

  async setPublicUrl(id: string, publicUrl: string): Promise<void> {
    await this.db.updateTable('instances').set({ public_url: publicUrl }).where('id', '=', id).execute();
  }

  /** Renews the lease; false if the row is gone (another instance declared us lost). */
  async heartbeat(id: string): Promise<boolean> {
    const res = await this.db.updateTable('instances').set({ heartbeat_at: this.now().toISOString() }).where('id', '=', id).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async others(selfId: string): Promise<{ id: string; heartbeatAt: string }[]> {
    const rows = await this.db.selectFrom('instances').select(['id', 'heartbeat_at']).where('id', '!=', selfId).execute();
    return rows.map((r) => ({ id: r.id, heartbeatAt: r.heartbeat_at }));
  }

  private cutoff(leaseMs: number): string {
    return new Date(this.now().getTime() - leaseMs).toISOString();
  }

  async aliveIds(leaseMs: number): Promise<string[]> {
    const cutoff = this.cutoff(leaseMs);
    const rows = await this.db.selectFrom('instances').select('id').where('heartbeat_at', '>', cutoff).execute();
    return rows.map((r) => r.id);
  }

  async publicUrl(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('instances').select('public_url').where('id', '=', id).executeTakeFirst();
    return row?.public_url;
  }

  /**
   * Other instances whose lease has expired, read in one query: listing all instances and the
   * alive ones separately would count one that registered in between as lost.
   */
  async expiredOthers(selfId: string, leaseMs: number): Promise<string[]> {
    const rows = await this.db.selectFrom('instances').select('id').where('id', '!=', selfId).where('heartbeat_at', '<=', this.cutoff(leaseMs)).execute();
    return rows.map((r) => r.id);
  }

  /**
   * Claims an expired instance for reaping by renewing its lease on the reaper's behalf, only
   * if it is still expired: true for exactly one caller, and false when the instance renewed
   * its own lease meanwhile (slow, not lost). The row stays until the reaping is done, so a
   * reaper that fails or dies half-way leaves it to expire again and be reaped again.
   */
  async claimExpired(id: string, leaseMs: number): Promise<boolean> {
    const res = await this.db
      .updateTable('instances')
      .set({ heartbeat_at: this.now().toISOString() })
      .where('id', '=', id)
      .where('heartbeat_at', '<=', this.cutoff(leaseMs))
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Removes an instance's row; true for exactly one caller when several reap at once. */
  async remove(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('instances').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
