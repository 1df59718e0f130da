/**
 * Chooses where the per-account POST budgets are counted, by configuration only:
 * Redis when APPSTREAMD_REDIS_URL is set, else PostgreSQL when the state is there,
 * else process memory. Shared stores make the limits hold for the whole deployment.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { RateLimiterPostgres, RateLimiterRedis } from 'rate-limiter-flexible';
import { createRateLimits, memoryLimiterFactory, type LimiterFactory, type RateLimits } from './rate-limiter.js';

export interface LimitStoreOptions {
  redisUrl: string | null;
  databaseUrl: string | null;
  createApplicationRate: number;
  entitleSessionRate: number;
}

export interface LimitStore {
  kind: 'memory' | 'redis' | 'postgres';
  limits: RateLimits;
  close(): Promise<void>;
}

/** The PostgreSQL table rate-limiter-flexible uses (created by the migrations). */
export const RATE_LIMIT_TABLE = 'rate_limits';

export async function openLimitStore(opts: LimitStoreOptions): Promise<LimitStore> {
  if (opts.redisUrl) {
    const redis = new Redis(opts.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 2, lazyConnect: true });
    await redis.connect();
    const factory: LimiterFactory = (o) => new RateLimiterRedis({ ...o, storeClient: redis });
    return { kind: 'redis', limits: createRateLimits(opts, factory, true), close: async () => void (await redis.quit()) };
  }
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 4 });
    pool.on('error', () => undefined); // an idle connection the server closed: dropped, not fatal
    const factory: LimiterFactory = (o) => new RateLimiterPostgres({ ...o, storeClient: pool, storeType: 'pool', tableName: RATE_LIMIT_TABLE, tableCreated: true });
    return { kind: 'postgres', limits: createRateLimits(opts, factory, true), close: () => pool.end() };
  }
  return { kind: 'memory', limits: createRateLimits(opts, memoryLimiterFactory, false), close: async () => {} };
}
