import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveSigningKey, SigningKeyCache } from '../../../src/auth/sigv4/signing-key.js';
import { computeSignature, signaturesMatch } from '../../../src/auth/sigv4/signature.js';
import { buildStringToSign } from '../../../src/auth/sigv4/string-to-sign.js';

describe('deriveSigningKey', () => {
  test('matches the worked example of the AWS SigV4 documentation (IAM, 2012-02-15)', () => {
    const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
    assert.equal(key.toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
  });

  test('every scope element changes the key', () => {
    const base = deriveSigningKey('secret', '20150830', 'us-east-1', 'appstream').toString('hex');
    for (const key of [
      deriveSigningKey('secreT', '20150830', 'us-east-1', 'appstream'),
      deriveSigningKey('secret', '20150831', 'us-east-1', 'appstream'),
      deriveSigningKey('secret', '20150830', 'us-west-2', 'appstream'),
      deriveSigningKey('secret', '20150830', 'us-east-1', 'service'),
    ]) {
      assert.notEqual(key.toString('hex'), base);
    }
  });
});

describe('SigningKeyCache', () => {
  const request = { accessKeyId: 'AK', secretAccessKey: 'S1', date: '20150830', region: 'us-east-1', service: 'appstream' };

  test('returns the derived key and reuses it on a hit', () => {
    const cache = new SigningKeyCache(4);
    const first = cache.get(request);
    assert.deepEqual(first, deriveSigningKey('S1', '20150830', 'us-east-1', 'appstream'));
    assert.equal(cache.get(request), first, 'same Buffer object on a hit');
    assert.equal(cache.size, 1);
  });

  test('a rotated secret is not served from the cache', () => {
    const cache = new SigningKeyCache(4);
    const old = cache.get(request);
    const rotated = cache.get({ ...request, secretAccessKey: 'S2' });
    assert.notDeepEqual(rotated, old);
    assert.deepEqual(rotated, deriveSigningKey('S2', '20150830', 'us-east-1', 'appstream'));
    assert.equal(cache.size, 1);
  });

  test('stays bounded and evicts the least recently used entry', () => {
    const cache = new SigningKeyCache(2);
    const a = cache.get({ ...request, accessKeyId: 'A' });
    cache.get({ ...request, accessKeyId: 'B' });
    assert.equal(cache.get({ ...request, accessKeyId: 'A' }), a); // A is now the most recent
    cache.get({ ...request, accessKeyId: 'C' }); // evicts B
    assert.equal(cache.size, 2);
    assert.equal(cache.get({ ...request, accessKeyId: 'A' }), a, 'A survived');
    for (let i = 0; i < 50; i++) cache.get({ ...request, accessKeyId: `K${i}` });
    assert.equal(cache.size, 2);
  });

  test('rejects a non-positive size', () => {
    assert.throws(() => new SigningKeyCache(0), RangeError);
  });
});

describe('signature', () => {
  const key = deriveSigningKey('secret', '20150830', 'us-east-1', 'appstream');
  const sts = buildStringToSign('20150830T123600Z', '20150830/us-east-1/appstream/aws4_request', 'GET\n/\n\nhost:h\n\nhost\nx');

  test('string to sign has four lines, the last the hex SHA-256 of the canonical request', () => {
    const lines = sts.split('\n');
    assert.equal(lines.length, 4);
    assert.equal(lines[0], 'AWS4-HMAC-SHA256');
    assert.match(lines[3], /^[0-9a-f]{64}$/);
  });

  test('computeSignature is 64 lower-case hex and deterministic', () => {
    const signature = computeSignature(key, sts);
    assert.match(signature, /^[0-9a-f]{64}$/);
    assert.equal(computeSignature(key, sts), signature);
    assert.notEqual(computeSignature(key, `${sts} `), signature);
  });

  const signature = computeSignature(key, sts);
  const flipped = (signature[0] === '0' ? '1' : '0') + signature.slice(1);
  const rows: Array<[string, string, boolean]> = [
    ['equal', signature, true],
    ['upper-case', signature.toUpperCase(), true],
    ['one digit different', flipped, false],
    ['shorter', signature.slice(1), false],
    ['empty', '', false],
  ];
  for (const [name, provided, expected] of rows) {
    test(`signaturesMatch: ${name}`, () => assert.equal(signaturesMatch(provided, signature), expected));
  }
});
