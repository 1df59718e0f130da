/**
 * Per-account POST budgets (§2.5) as a true sliding one-second window, built on
 * rate-limiter-flexible so the store is swappable (memory now, Redis/PostgreSQL later).
 *
 * Why slots: rate-limiter-flexible windows are fixed. A budget of N per second is kept as N
 * one-point slots, each with a 1 s lifetime starting at its own use; a request is allowed
 * iff some slot is free, i.e. fewer than N requests were allowed in the last second. A
 * rejected request gives its point back, so 429s do not count (§2.5).
 */
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type LimiterFactory = (opts: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

export const memoryLimiterFactory: LimiterFactory = (opts) => new RateLimiterMemory(opts);

export interface RateDecision {
  allowed: boolean;
  /** When not allowed: milliseconds until a slot frees up. */
  retryAfterMs: number;
}

export class SlidingWindowLimiter {
  private readonly slots: RateLimiterAbstract;
  /** Per account: how many slots this process has claimed (slot = claims mod perSecond). */
  private readonly nextSlot = new Map<string, number>();
  /** Shared stores: an atomic per-account counter whose value picks the slot to try first. */
  private readonly rotation: RateLimiterAbstract | undefined;

  constructor(
    readonly name: string,
    readonly perSecond: number,
    factory: LimiterFactory,
    /** Shared stores: another instance may have used "our" next slot, so scan the rest. */
    private readonly distributed = false,
  ) {
    this.slots = factory({ keyPrefix: `appstreamd:rl:${name}`, points: 1, duration: 1 });
    // With several instances each instance's own hint goes stale; a shared counter keeps
    // every instance rotating through the same sequence, so the first slot tried is
    // normally the oldest one and the scan below rarely goes past it.
    this.rotation = distributed ? factory({ keyPrefix: `appstreamd:rl:${name}:rotation`, points: 2 ** 31 - 1, duration: 3600 }) : undefined;
  }

  async consume(accountId: string): Promise<RateDecision> {
    if (!this.rotation) return this.consumeLocal(accountId);
    const start = ((await this.rotation.consume(accountId, 1)).consumedPoints - 1) % this.perSecond;
    let retryAfterMs = 1000;
    for (let i = 0; i < this.perSecond; i++) {
      const outcome = await this.trySlot(accountId, (start + i) % this.perSecond);
      if (outcome === true) return { allowed: true, retryAfterMs: 0 };
      retryAfterMs = Math.min(retryAfterMs, outcome);
    }
    return { allowed: false, retryAfterMs };
  }

  /**
   * One process: slots are claimed in strict rotation, synchronously, so concurrent requests
   * never collide on a slot. The slot claimed is the one used longest ago; if even that one
   * is still within its second, the budget is spent. A rejected claim rewinds the rotation
   * (later claims of the same burst were rejected too), so 429s do not use up slots.
   */
  private async consumeLocal(accountId: string): Promise<RateDecision> {
    if (this.nextSlot.size > 100_000 && !this.nextSlot.has(accountId)) this.nextSlot.clear(); // bounded memory
    const claim = this.nextSlot.get(accountId) ?? 0;
    this.nextSlot.set(accountId, claim + 1);
    const outcome = await this.trySlot(accountId, claim % this.perSecond);
    if (outcome === true) return { allowed: true, retryAfterMs: 0 };
    this.nextSlot.set(accountId, Math.min(this.nextSlot.get(accountId) ?? claim, claim));
    return { allowed: false, retryAfterMs: outcome };
  }

  /** true when the slot was free (and is now used), else ms until it frees. */
  private async trySlot(accountId: string, slot: number): Promise<true | number> {
    try {
      await this.slots.consume(`${accountId}:${slot}`, 1);
      return true;
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      await this.slots.reward(`${accountId}:${slot}`, 1); // rejected requests do not count
      return Math.max(1, res.msBeforeNext);
    }
  }
}

export interface RateLimits {
  createApplication: SlidingWindowLimiter;
  entitleSession: SlidingWindowLimiter;
}

export function createRateLimits(
  rates: { createApplicationRate: number; entitleSessionRate: number },
  factory: LimiterFactory = memoryLimiterFactory,
  distributed = false,
): RateLimits {
  return {
    createApplication: new SlidingWindowLimiter('create-application', rates.createApplicationRate, factory, distributed),
    entitleSession: new SlidingWindowLimiter('entitle-session', rates.entitleSessionRate, factory, distributed),
  };
}
