import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OutputRing } from '../../../src/stream/output-buffer.js';
import { classifyExit } from '../../../src/stream/exit-reason.js';
import { xauthorityEntry } from '../../../src/stream/xauth.js';

describe('OutputRing', () => {
  test('keeps the newest bytes up to its capacity', () => {
    const ring = new OutputRing(10);
    ring.push(Buffer.from('abcdef'));
    ring.push(Buffer.from('ghijkl'));
    assert.equal(ring.length, 10);
    assert.equal(ring.droppedBytes, 2);
    assert.equal(ring.drain().toString(), 'cdefghijkl');
    assert.equal(ring.length, 0);
    ring.push(Buffer.from('0123456789ABCDEF'));
    assert.equal(ring.drain().toString(), '6789ABCDEF');
  });
});

describe('classifyExit', () => {
  const cases: Array<[string, number | null, number | null, boolean, string, string | null]> = [
    ['normal exit', 0, null, false, 'exit', null],
    ['non-zero exit', 3, null, false, 'exit', null],
    ['killed by us wins', 137, null, true, 'killed', null],
    ['SIGKILL not by us (OOM, CPU hard limit)', 128 + 9, null, false, 'limit', 'SIGKILL'],
    ['SIGXCPU via the init', 128 + 24, null, false, 'limit', 'SIGXCPU'],
    ['SIGXFSZ via the init', 128 + 25, null, false, 'limit', 'SIGXFSZ'],
    ['SIGSEGV is not told apart from a crash', 128 + 11, null, false, 'exit', null],
    ['direct signal SIGXCPU', null, 24, false, 'limit', 'SIGXCPU'],
    ['direct signal SIGTERM', null, 15, false, 'exit', 'SIGTERM'],
  ];
  for (const [name, code, signal, byUs, reason, signalName] of cases) {
    test(name, () => {
      const exit = classifyExit(code, signal, byUs);
      assert.equal(exit.reason, reason);
      assert.equal(exit.signal, signalName);
    });
  }
});

describe('xauthorityEntry', () => {
  test('writes a FamilyWild MIT-MAGIC-COOKIE-1 entry', () => {
    const cookie = Buffer.alloc(16, 7);
    const entry = xauthorityEntry(cookie, '12');
    assert.deepEqual([...entry.subarray(0, 4)], [0xff, 0xff, 0, 0]);
    assert.deepEqual([...entry.subarray(4, 8)], [0, 2, 0x31, 0x32]);
    assert.equal(entry.readUInt16BE(8), 18);
    assert.equal(entry.subarray(10, 28).toString('latin1'), 'MIT-MAGIC-COOKIE-1');
    assert.equal(entry.readUInt16BE(28), 16);
    assert.deepEqual(entry.subarray(30), cookie);
  });
});
