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

  constructor(
    private readonly repo: InstancesRepo,
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
    } else {
      await this.reapExpired();
    }
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.log.warn({ err }, 'instance heartbeat failed'));
    }, Math.max(200, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  async aliveIds(): Promise<string[]> {
    return this.repo.aliveIds(this.leaseMs);
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
    const alive = new Set(await this.repo.aliveIds(this.leaseMs));
    for (const other of await this.repo.others(this.selfId)) {
      if (!alive.has(other.id)) await this.reap(other.id, 'lease-expired');
    }
  }

  private async reap(id: string, why: 'lease-expired' | 'previous-process'): Promise<void> {
    if (!(await this.repo.remove(id))) return; // another instance is reaping it
    this.log.warn({ instanceId: id, why }, 'taking over a lost instance');
    await this.onLost(id, why);
  }
}
