/**
 * Membership of the instances serving one deployment. Each instance renews a lease in the
 * database; any instance that sees another's lease expired takes over its leftovers: its
 * live sessions end (INSTANCE_LOST), its unfinished builds restart, its scratch folder goes.
 * With SQLite there is only ever one instance, so every older row is a previous process of
 * this one and is reaped at start.
 */
import type { Logger } from 'pino';
import type { InstancesRepo } from '../store/instances-repo.js';

export interface LostInstanceHandler {
  (instanceId: string, why: 'lease-expired' | 'previous-process'): Promise<void>;
}

export class InstanceRegistry {
  private timer: NodeJS.Timeout | undefined;
  private publicUrl = '';
  /** Lost instances this registry is reaping now: their claimed lease does not make them alive. */
  private readonly reaping = new Set<string>();

  constructor(
    private readonly repo: InstancesRepo,
    /** Instance ids that live sessions still name although their row is gone. */
    private readonly orphanedInstanceIds: () => Promise<string[]>,
    readonly selfId: string,
    private readonly leaseMs: number,
    private readonly singleInstance: boolean,
    private readonly onLost: LostInstanceHandler,
    private readonly log: Logger,
  ) {}

  async join(publicUrl: string): Promise<void> {
    this.publicUrl = publicUrl;
    await this.repo.register(this.selfId, publicUrl);
    if (this.singleInstance) {
      for (const other of await this.repo.others(this.selfId)) await this.reap(other.id, 'previous-process');
      await this.reapOrphans();
    } else {
      await this.reapExpired();
    }
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.log.warn({ err }, 'instance heartbeat failed'));
    }, Math.max(200, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** The URL is known only once listening (port 0); the row exists before, so no session is ever ownerless. */
  async setPublicUrl(publicUrl: string): Promise<void> {
    this.publicUrl = publicUrl;
    await this.repo.setPublicUrl(this.selfId, publicUrl);
  }

  async aliveIds(): Promise<string[]> {
    return (await this.repo.aliveIds(this.leaseMs)).filter((id) => !this.reaping.has(id));
  }

  async publicUrlOf(id: string | null): Promise<string | undefined> {
    return id ? this.repo.publicUrl(id) : undefined;
  }

  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.repo.remove(this.selfId).catch(() => false);
  }

  private async tick(): Promise<void> {
    if (!(await this.repo.heartbeat(this.selfId))) {
      this.log.error('this instance was declared lost by another instance; rejoining');
      await this.repo.register(this.selfId, this.publicUrl);
    }
    await this.reapExpired();
  }

  private async reapExpired(): Promise<void> {
    for (const id of await this.repo.expiredOthers(this.selfId, this.leaseMs)) {
      if (this.reaping.has(id)) continue; // a previous tick is still at it
      if (!(await this.repo.claimExpired(id, this.leaseMs))) continue; // another instance is reaping it, or it came back
      await this.reap(id, 'lease-expired');
    }
    await this.reapOrphans();
  }

  /** A reap cut short by a crash (row deleted, sessions not yet ended) is finished here. */
  private async reapOrphans(): Promise<void> {
    for (const id of await this.orphanedInstanceIds()) {
      if (id === this.selfId || this.reaping.has(id)) continue;
      this.log.warn({ instanceId: id }, 'finishing the takeover of a lost instance');
      await this.onLost(id, this.singleInstance ? 'previous-process' : 'lease-expired');
    }
  }

  /** Hands a lost instance's leftovers to onLost; its row goes only once that succeeded. */
  private async reap(id: string, why: 'lease-expired' | 'previous-process'): Promise<void> {
    if (why === 'previous-process' && !(await this.repo.remove(id))) return;
    this.log.warn({ instanceId: id, why }, 'taking over a lost instance');
    this.reaping.add(id);
    try {
      await this.onLost(id, why);
    } finally {
      this.reaping.delete(id);
    }
    if (why === 'lease-expired') await this.repo.remove(id);
  }
}
