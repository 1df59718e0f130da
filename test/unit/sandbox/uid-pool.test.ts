import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createUidPool, UidPoolExhaustedError } from '../../../src/sandbox/uid-pool.js';
import { probeCapabilities } from '../../../src/sandbox/capabilities.js';

describe('uid pool', () => {
  test('hands out distinct uids from the range and refuses when exhausted', () => {
    const pool = createUidPool(100, 102);
    const taken = [pool.acquire(), pool.acquire(), pool.acquire()];
    assert.deepEqual([...taken].sort(), [100, 101, 102]);
    assert.throws(() => pool.acquire(), UidPoolExhaustedError);
    pool.release(101);
    assert.equal(pool.acquire(), 101);
    assert.deepEqual(pool.inUse(), [100, 101, 102]);
  });

  test('reuses a released uid last', () => {
    const pool = createUidPool(10, 13);
    const a = pool.acquire();
    pool.release(a);
    assert.notEqual(pool.acquire(), a);
  });

  test('default range is 61000-61999', () => {
    const pool = createUidPool();
    assert.equal(pool.first, 61000);
    assert.equal(pool.last, 61999);
    assert.equal(pool.acquire(), 61000);
  });

  test('rejects a bad range', () => {
    assert.throws(() => createUidPool(0, 10), RangeError);
    assert.throws(() => createUidPool(20, 10), RangeError);
  });
});

describe('capability probe', () => {
  test('reports full isolation only with everything in place, otherwise reasons', () => {
    const caps = probeCapabilities();
    assert.equal(caps.isRoot, process.getuid?.() === 0);
    if (caps.isolation === 'full') {
      assert.ok(caps.isRoot && caps.namespaces);
      assert.ok(caps.tools.unshare && caps.tools.setpriv && caps.tools.prlimit && caps.tools.env && caps.tools.sh);
    } else {
      assert.ok(caps.reasons.length > 0, 'reduced isolation must say why');
    }
  });
});

describe('host-wide uid locks', () => {
  test('two pools sharing a lock folder never hand out the same uid; a dead owner\'s lock is taken over', async () => {
    const { mkdtempSync, writeFileSync, rmSync, readdirSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'uid-locks-'));
    try {
      const a = createUidPool(500, 503, dir);
      const b = createUidPool(500, 503, dir);
      const fromA = [a.acquire(), a.acquire()];
      const fromB = [b.acquire(), b.acquire()];
      assert.equal(new Set([...fromA, ...fromB]).size, 4);
      assert.throws(() => b.acquire(), UidPoolExhaustedError);
      a.release(fromA[0]!);
      assert.equal(b.acquire(), fromA[0]);
      // A lock left by a process that no longer exists is stale.
      const c = createUidPool(600, 600, dir);
      writeFileSync(path.join(dir, '600'), '999999999');
      assert.equal(c.acquire(), 600);
      c.release(600);
      assert.ok(!readdirSync(dir).includes('600'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
