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
    const start = this.rotation
      ? ((await this.rotation.consume(accountId, 1)).consumedPoints - 1) % this.perSecond
      : (this.nextSlot.get(accountId) ?? 0);
    const attempts = this.distributed ? this.perSecond : 1;
    let retryAfterMs = 1000;
    for (let i = 0; i < attempts; i++) {
      const slot = (start + i) % this.perSecond;
      try {
        await this.slots.consume(`${accountId}:${slot}`, 1);
        this.nextSlot.set(accountId, (slot + 1) % this.perSecond);
        if (this.nextSlot.size > 100_000) this.nextSlot.clear(); // bounded memory; only a hint
        return { allowed: true, retryAfterMs: 0 };
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        retryAfterMs = Math.min(retryAfterMs, Math.max(1, res.msBeforeNext));
        await this.slots.reward(`${accountId}:${slot}`, 1); // rejected requests do not count
      }
    }
    return { allowed: false, retryAfterMs };
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
