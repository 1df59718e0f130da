import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BuildFailure } from '../../../src/install/build-failure.js';
import { detectPackageKind, unpackPackage, type UnpackResult } from '../../../src/install/unpack.js';
import { gzip, makeTarGz, makeTempDir, makeZip, rawTar, removeDir } from '../../helpers/packages.js';

let root: string;
let outside: string;
let caseNumber = 0;

before(async () => {
  root = await makeTempDir();
  outside = path.join(root, 'outside');
  await mkdir(outside);
});

after(async () => {
  await removeDir(root);
});

interface Case {
  dir: string;
  packageDir: string;
  run: () => Promise<UnpackResult>;
}

async function prepareCase(archive: Buffer, limits: { maxEntries?: number; maxUnpackedBytes?: number } = {}, fileName = 'pkg'): Promise<Case> {
  caseNumber += 1;
  const dir = path.join(root, `case-${caseNumber}`);
  await mkdir(dir);
  const installerFile = path.join(dir, 'installer.download');
  await writeFile(installerFile, archive);
  const packageDir = path.join(dir, 'package');
  return {
    dir,
    packageDir,
    run: () =>
      unpackPackage({
        installerFile,
        fileName,
        packageDir,
        maxEntries: limits.maxEntries ?? 100,
        maxUnpackedBytes: limits.maxUnpackedBytes ?? 10_000_000,
      }),
  };
}

/** Runs the case expecting an InstallerFailed refusal, then checks nothing escaped the package folder. */
async function expectRefused(testCase: Case, pattern: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await testCase.run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BuildFailure, `expected a BuildFailure, got ${String(caught)}`);
  assert.equal(caught.step, 'Installing');
  assert.equal(caught.errorCode, 'InstallerFailed');
  assert.match(caught.cause, pattern);
  assert.deepEqual(await readdir(outside), [], 'nothing may be written in the outside folder');
  const besidePackage = (await readdir(testCase.dir)).filter((name) => name !== 'package');
  assert.deepEqual(besidePackage, [], 'nothing may be written beside the package folder');
}

describe('detectPackageKind', () => {
  test('uses magic bytes', () => {
    assert.equal(detectPackageKind(Buffer.from([0x1f, 0x8b, 8, 0])), 'tar.gz');
    assert.equal(detectPackageKind(Buffer.from('PK\x03\x04rest', 'latin1')), 'zip');
    assert.equal(detectPackageKind(rawTar([{ name: 'a', type: '0', data: 'x' }])), 'tar');
    assert.equal(detectPackageKind(Buffer.from('#!/bin/sh\necho hi\n')), 'file');
  });
});

describe('unpackPackage: good packages', () => {
  test('tar.gz keeps folders, modes and inside links', async () => {
    const archive = rawTar([
      { name: 'bin/', type: '5' },
      { name: 'bin/app', type: '0', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { name: 'share/readme.txt', type: '0', data: 'hello' },
      { name: 'app-link', type: '2', linkname: 'bin/app' },
      { name: 'bin/up', type: '2', linkname: '../share' },
      { name: 'share/copy.txt', type: '1', linkname: 'share/readme.txt' },
    ]);
    const testCase = await prepareCase(gzip(archive));
    const result = await testCase.run();
    assert.equal(result.kind, 'tar.gz');
    assert.equal(result.entries, 6);
    assert.ok((await stat(path.join(testCase.packageDir, 'bin/app'))).mode & 0o100);
    assert.equal(await readlink(path.join(testCase.packageDir, 'app-link')), 'bin/app');
    assert.equal(await readFile(path.join(testCase.packageDir, 'share/copy.txt'), 'utf8'), 'hello');
    assert.equal((await stat(path.join(testCase.packageDir, 'share/copy.txt'))).nlink, 2);
  });

  test('a tar.gz made by the tar package unpacks', async () => {
    const archive = await makeTarGz(root, [
      { path: 'bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
      { path: 'lib/data.bin', content: randomBytes(5000) },
    ]);
    const testCase = await prepareCase(archive);
    const result = await testCase.run();
    assert.equal(result.bytes, 5000 + '#!/bin/sh\n'.length);
    assert.ok((await stat(path.join(testCase.packageDir, 'bin/tool'))).isFile());
  });

  test('a large tar.gz with many files streams through (backpressure)', async () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({ name: `d${i % 4}/f${i}`, type: '0' as const, data: randomBytes(150_000) }));
    const testCase = await prepareCase(gzip(rawTar(entries)));
    const result = await testCase.run();
    assert.equal(result.bytes, 40 * 150_000);
    assert.deepEqual(await readFile(path.join(testCase.packageDir, 'd3/f39')), entries[39]!.data);
  });

  test('zip keeps Unix modes and inside symlinks', async () => {
    const archive = makeZip([
      { name: 'bin/', mode: 0o040755 },
      { name: 'bin/app', data: '#!/bin/sh\necho hi\n', mode: 0o100755, deflate: true },
      { name: 'notes.txt', data: 'plain', mode: 0o100644 },
      { name: 'run', data: 'bin/app', mode: 0o120777 },
    ]);
    const testCase = await prepareCase(archive);
    const result = await testCase.run();
    assert.equal(result.kind, 'zip');
    assert.ok((await stat(path.join(testCase.packageDir, 'bin/app'))).mode & 0o100);
    assert.equal(((await stat(path.join(testCase.packageDir, 'notes.txt'))).mode & 0o111), 0);
    assert.equal(await readlink(path.join(testCase.packageDir, 'run')), 'bin/app');
  });

  test('a single file keeps its name and becomes executable', async () => {
    const testCase = await prepareCase(Buffer.from('#!/bin/sh\necho single\n'), {}, 'tool.sh');
    const result = await testCase.run();
    assert.equal(result.kind, 'file');
    const info = await stat(path.join(testCase.packageDir, 'tool.sh'));
    assert.equal(info.mode & 0o777, 0o755);
  });
});

describe('unpackPackage: hostile and broken packages are refused', () => {
  test('tar entry with ../', async () => {
    await expectRefused(await prepareCase(gzip(rawTar([{ name: '../pwned', type: '0', data: 'x' }]))), /"\.\."/);
  });

  test('tar entry with .. deeper in the path', async () => {
    await expectRefused(await prepareCase(gzip(rawTar([{ name: 'a/../../pwned', type: '0', data: 'x' }]))), /"\.\."/);
  });

  test('tar entry with an absolute path', async () => {
    const target = path.join(outside, 'abs');
    await expectRefused(await prepareCase(gzip(rawTar([{ name: target, type: '0', data: 'x' }]))), /absolute path/);
  });

  test('tar symlink pointing outside, then a file written through it', async () => {
    const archive = rawTar([
      { name: 'evil', type: '2', linkname: outside },
      { name: 'evil/x', type: '0', data: 'pwned' },
    ]);
    await expectRefused(await prepareCase(gzip(archive)), /points outside/);
  });

  test('tar relative symlink climbing out', async () => {
    const archive = rawTar([{ name: 'a/evil', type: '2', linkname: '../../outside' }]);
    await expectRefused(await prepareCase(gzip(archive)), /points outside/);
  });

  test('tar: a file is never written through a symlink, even one pointing inside', async () => {
    const archive = rawTar([
      { name: 'real/', type: '5' },
      { name: 'alias', type: '2', linkname: 'real' },
      { name: 'alias/x', type: '0', data: 'x' },
    ]);
    await expectRefused(await prepareCase(gzip(archive)), /through the symbolic link/);
  });

  test('tar: a chain of links that only escapes when followed is caught', async () => {
    const archive = rawTar([
      { name: 'self', type: '2', linkname: '.' },
      { name: 'escape', type: '2', linkname: 'self/..' },
    ]);
    await expectRefused(await prepareCase(gzip(archive)), /resolves outside/);
  });

  test('tar hard link to a file outside', async () => {
    const archive = rawTar([{ name: 'hard', type: '1', linkname: '../outside-file' }]);
    await expectRefused(await prepareCase(gzip(archive)), /"\.\."/);
    const absolute = rawTar([{ name: 'hard', type: '1', linkname: '/etc/passwd' }]);
    await expectRefused(await prepareCase(gzip(absolute)), /absolute path/);
  });

  test('tar device and fifo entries', async () => {
    await expectRefused(await prepareCase(gzip(rawTar([{ name: 'dev', type: '3' }]))), /device or FIFO/);
    await expectRefused(await prepareCase(gzip(rawTar([{ name: 'pipe', type: '6' }]))), /device or FIFO/);
  });

  test('tar over the entry cap', async () => {
    const entries = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, type: '0' as const, data: 'x' }));
    await expectRefused(await prepareCase(gzip(rawTar(entries)), { maxEntries: 10 }), /more than 10 entries/);
  });

  test('tar over the unpacked-bytes cap (real bytes counted)', async () => {
    const archive = rawTar([{ name: 'big', type: '0', data: randomBytes(300_000) }]);
    await expectRefused(await prepareCase(gzip(archive), { maxUnpackedBytes: 100_000 }), /more than 100000 bytes/);
  });

  test('a corrupt tar.gz', async () => {
    const good = gzip(rawTar([{ name: 'a', type: '0', data: randomBytes(4000) }]));
    const corrupt = Buffer.concat([good.subarray(0, 40), randomBytes(200)]);
    await expectRefused(await prepareCase(corrupt), /could not be unpacked/);
  });

  test('a tar.gz cut off in the middle of a large entry fails instead of hanging', async () => {
    const text = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i} ${i * 7919 % 1000}\n`).join(''));
    const whole = gzip(rawTar([{ name: 'big.txt', type: '0', data: text }, { name: 'after', type: '0', data: 'x' }]));
    await expectRefused(await prepareCase(whole.subarray(0, Math.floor(whole.length / 2))), /could not be unpacked/);
  });

  test('a cancelled unpack stops', async () => {
    const testCase = await prepareCase(gzip(rawTar([{ name: 'a', type: '0', data: randomBytes(2_000_000) }])));
    const controller = new AbortController();
    controller.abort();
    const work = unpackPackage({
      installerFile: path.join(testCase.dir, 'installer.download'),
      fileName: 'pkg',
      packageDir: testCase.packageDir,
      maxEntries: 10,
      maxUnpackedBytes: 10_000_000,
      signal: controller.signal,
    });
    await assert.rejects(work, (error: unknown) => error instanceof BuildFailure && /cancelled/.test(error.cause));
  });

  test('gzip data that is not a tar', async () => {
    await expectRefused(await prepareCase(gzip(randomBytes(5000))), /could not be unpacked/);
  });

  test('zip entry with ../', async () => {
    await expectRefused(await prepareCase(makeZip([{ name: '../pwned', data: 'x' }])), /refused|could not be unpacked/);
  });

  test('zip entry with an absolute path', async () => {
    await expectRefused(await prepareCase(makeZip([{ name: path.join(outside, 'abs'), data: 'x' }])), /refused|could not be unpacked/);
  });

  test('zip symlink pointing outside, then a file written through it', async () => {
    const archive = makeZip([
      { name: 'evil', data: outside, mode: 0o120777 },
      { name: 'evil/x', data: 'pwned' },
    ]);
    await expectRefused(await prepareCase(archive), /points outside/);
  });

  test('zip: a file is never written through an inside symlink', async () => {
    const archive = makeZip([
      { name: 'real/', mode: 0o040755 },
      { name: 'alias', data: 'real', mode: 0o120777 },
      { name: 'alias/x', data: 'x' },
    ]);
    await expectRefused(await prepareCase(archive), /through the symbolic link/);
  });

  test('zip fifo entry', async () => {
    await expectRefused(await prepareCase(makeZip([{ name: 'pipe', mode: 0o010644 }])), /device, FIFO or socket/);
  });

  test('zip bomb over the cap', async () => {
    const archive = makeZip([{ name: 'zeros', data: Buffer.alloc(20_000_000), deflate: true }]);
    assert.ok(archive.length < 100_000, 'the bomb itself is small');
    await expectRefused(await prepareCase(archive, { maxUnpackedBytes: 1_000_000 }), /more than 1000000 bytes/);
    const written = await lstat(path.join(root, `case-${caseNumber}`, 'package', 'zeros')).catch(() => null);
    assert.ok(!written || written.size <= 1_100_000, 'writing stopped near the cap');
  });

  test('zip whose headers understate the size is still stopped by real bytes', async () => {
    const archive = makeZip([{ name: 'liar', data: Buffer.alloc(5_000_000), deflate: true, claimedSize: 10 }]);
    await expectRefused(await prepareCase(archive, { maxUnpackedBytes: 1_000_000 }), /refused|could not be unpacked/);
  });

  test('zip over the entry cap', async () => {
    const entries = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
    await expectRefused(await prepareCase(makeZip(entries), { maxEntries: 10 }), /more than 10 entries/);
  });

  test('a corrupt zip', async () => {
    const archive = makeZip([{ name: 'a', data: randomBytes(3000), deflate: true }]);
    const corrupt = Buffer.concat([archive.subarray(0, 60), randomBytes(100)]);
    await expectRefused(await prepareCase(corrupt), /could not be unpacked/);
  });
});
