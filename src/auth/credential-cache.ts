/**
 * A short-lived cache of credentials in front of the store: SigV4 needs the secret on every
 * request, and a database read plus an AES-GCM open per request is most of the cost of a
 * signed GET. Entries live `ttlMs` (default 1 s), so a key revoked by another process (the
 * CLI, another instance) stops working within that time; unknown keys are cached too, so
 * a flood of bad keys cannot turn into a flood of queries.
 */
import type { StoredCredential } from './sigv4/verify.js';

export class CredentialCache {
  private readonly entries = new Map<string, { value: StoredCredential | undefined; expires: number }>();

  constructor(
    private readonly load: (accessKeyId: string) => Promise<StoredCredential | undefined>,
    private readonly ttlMs = 1000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(accessKeyId: string): Promise<StoredCredential | undefined> {
    const t = this.now();
    const hit = this.entries.get(accessKeyId);
    if (hit && hit.expires > t) return hit.value;
    const value = await this.load(accessKeyId);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(accessKeyId, { value, expires: t + this.ttlMs });
    return value;
  }

  /** Forget one key at once (revocation in this process). */
  invalidate(accessKeyId: string): void {
    this.entries.delete(accessKeyId);
  }
}
