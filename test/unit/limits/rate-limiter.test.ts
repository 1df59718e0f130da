import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlidingWindowLimiter, memoryLimiterFactory } from '../../../src/limits/rate-limiter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sliding-window limiter (one process)', () => {
  test('concurrent requests never share a slot: exactly N of a burst pass', async () => {
    const limiter = new SlidingWindowLimiter('t-burst', 4, memoryLimiterFactory);
    const decisions = await Promise.all(Array.from({ length: 10 }, () => limiter.consume('acct')));
    assert.equal(decisions.filter((d) => d.allowed).length, 4);
    for (const d of decisions.filter((x) => !x.allowed)) assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= 1000);
  });

  test('a high budget lets a concurrent burst through entirely', async () => {
    const limiter = new SlidingWindowLimiter('t-high', 1000, memoryLimiterFactory);
    const decisions = await Promise.all(Array.from({ length: 500 }, () => limiter.consume('acct')));
    assert.equal(decisions.filter((d) => d.allowed).length, 500);
  });

  test('rejected requests do not use up the window, and the window slides', async () => {
    const limiter = new SlidingWindowLimiter('t-slide', 2, memoryLimiterFactory);
    assert.ok((await limiter.consume('a')).allowed);
    await sleep(400);
    assert.ok((await limiter.consume('a')).allowed);
    assert.equal((await limiter.consume('a')).allowed, false); // 2 in the last second
    assert.equal((await limiter.consume('a')).allowed, false);
    await sleep(700); // the first use is now > 1 s old, the second is not
    assert.ok((await limiter.consume('a')).allowed);
    assert.equal((await limiter.consume('a')).allowed, false);
    assert.ok((await limiter.consume('b')).allowed, 'another account has its own budget');
  });
});
