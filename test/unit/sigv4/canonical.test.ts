import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCanonicalHeaders, canonicalHeaderValue } from '../../../src/auth/sigv4/canonical-headers.js';
import {
  canonicalPath,
  canonicalPathCandidates,
  normalizePath,
  type PathForm,
} from '../../../src/auth/sigv4/canonical-path.js';
import { canonicalQueryString } from '../../../src/auth/sigv4/canonical-query.js';
import { buildCanonicalRequest, canonicalRequestCandidates, splitRequestTarget } from '../../../src/auth/sigv4/canonical-request.js';
import { percentDecodeToBytes, uriEncode } from '../../../src/auth/sigv4/uri-encode.js';

describe('uriEncode / percentDecodeToBytes', () => {
  const encodeRows: Array<[string, boolean, string]> = [
    ['AZaz09-._~', false, 'AZaz09-._~'],
    ['a b/c', false, 'a%20b%2Fc'],
    ['a b/c', true, 'a%20b/c'],
    ["!'()*+,;=:@", false, '%21%27%28%29%2A%2B%2C%3B%3D%3A%40'],
    ['\u1234', false, '%E1%88%B4'],
    ['%20', true, '%2520'],
  ];
  for (const [input, keepSlash, expected] of encodeRows) {
    test(`encode ${JSON.stringify(input)} keepSlash=${keepSlash}`, () => assert.equal(uriEncode(input, keepSlash), expected));
  }
  const decodeRows: Array<[string, string]> = [
    ['a%20b', 'a b'],
    ['%e1%88%b4', '\u1234'],
    ['100%', '100%'],
    ['%zz%2', '%zz%2'],
    ['a+b', 'a+b'],
  ];
  for (const [input, expected] of decodeRows) {
    test(`decode ${JSON.stringify(input)}`, () => assert.equal(percentDecodeToBytes(input).toString('utf8'), expected));
  }
});

describe('canonical path', () => {
  const normalizeRows: Array<[string, string]> = [
    ['/', '/'],
    ['//', '/'],
    ['/./', '/'],
    ['/example/..', '/'],
    ['/example1/example2/../..', '/'],
    ['/./example', '/example'],
    ['//example//', '/example/'],
    ['/a/b/../c/./d/', '/a/c/d/'],
    ['/../../a', '/a'],
    ['/applications/app-1/sessions', '/applications/app-1/sessions'],
  ];
  for (const [input, expected] of normalizeRows) {
    test(`normalizePath ${input}`, () => assert.equal(normalizePath(input), expected));
  }

  const formRows: Array<[string, PathForm, string]> = [
    ['/a%20b/./c', 'as-received', '/a%20b/./c'],
    ['/a%20b/./c', 'encoded', '/a%2520b/./c'],
    ['/a%20b/./c', 'normalized-encoded', '/a%2520b/c'],
    ['/example space/', 'normalized-encoded', '/example%20space/'],
    ['', 'as-received', '/'],
  ];
  for (const [input, form, expected] of formRows) {
    test(`canonicalPath ${JSON.stringify(input)} ${form}`, () => assert.equal(canonicalPath(input, form), expected));
  }

  test('candidates are distinct, SDK form first', () => {
    assert.deepEqual(canonicalPathCandidates('/applications'), [{ form: 'normalized-encoded', path: '/applications' }]);
    assert.deepEqual(
      canonicalPathCandidates('/a%20b//c').map((c) => c.path),
      ['/a%2520b/c', '/a%2520b//c', '/a%20b//c'],
    );
  });
});

describe('canonicalQueryString', () => {
  const rows: Array<[string, string]> = [
    ['', ''],
    ['a', 'a='],
    ['a=', 'a='],
    ['b=2&a=1', 'a=1&b=2'],
    ['a=2&a=1', 'a=1&a=2'],
    ['B=1&a=1', 'B=1&a=1'], // upper case sorts first (byte order)
    ['a%20b=c%20d', 'a%20b=c%20d'],
    ['a b=c d', 'a%20b=c%20d'],
    ['k=%7e%2d', 'k=~-'], // unreserved characters are decoded
    ['k=a+b', 'k=a%2Bb'], // `+` is literal unless asked otherwise
    ['k=a=b', 'k=a%3Db'],
    ['&&a=1&', 'a=1'],
    ['%E1%88%B4=Value1&Param=Value2&Param-3=Value3', '%E1%88%B4=Value1&Param=Value2&Param-3=Value3'],
    ['\u1234=bar', '%E1%88%B4=bar'],
    ['k=100%', 'k=100%25'],
  ];
  for (const [input, expected] of rows) {
    test(JSON.stringify(input), () => assert.equal(canonicalQueryString(input), expected));
  }
  test('plusAsSpace reads + as a space', () => {
    assert.equal(canonicalQueryString('k=a+b', { plusAsSpace: true }), 'k=a%20b');
  });
});

describe('canonical headers', () => {
  const valueRows: Array<[string, string]> = [
    ['value1', 'value1'],
    ['  value1  ', 'value1'],
    ['"a   b   c"', '"a b c"'],
    ['a \t b', 'a b'],
    ['', ''],
  ];
  for (const [input, expected] of valueRows) {
    test(`value ${JSON.stringify(input)}`, () => assert.equal(canonicalHeaderValue(input), expected));
  }

  test('repeated headers joined with "," in arrival order, names lower-cased and sorted, unsigned ones left out', () => {
    const raw = ['Host', 'example.com', 'My-Header1', 'value2', 'X-Other', 'x', 'my-header1', ' value1 ', 'A-First', 'a'];
    const headers = buildCanonicalHeaders(raw, ['my-header1', 'host', 'a-first']);
    assert.equal(headers.block, 'a-first:a\nhost:example.com\nmy-header1:value2,value1\n');
    assert.equal(headers.signedHeaderList, 'a-first;host;my-header1');
    assert.deepEqual(headers.missing, []);
  });

  test('a signed header the request lacks is reported and canonicalised as empty', () => {
    const headers = buildCanonicalHeaders(['Host', 'h'], ['host', 'x-gone']);
    assert.equal(headers.block, 'host:h\nx-gone:\n');
    assert.deepEqual(headers.missing, ['x-gone']);
  });
});

describe('canonical request', () => {
  test('parts joined with newlines', () => {
    assert.equal(
      buildCanonicalRequest({
        method: 'GET',
        canonicalPath: '/',
        canonicalQuery: 'a=1',
        canonicalHeaders: 'host:h\n',
        signedHeaderList: 'host',
        payloadHash: 'e3b0',
      }),
      'GET\n/\na=1\nhost:h\n\nhost\ne3b0',
    );
  });

  const targetRows: Array<[string, string, string]> = [
    ['/', '/', ''],
    ['/a?b=1', '/a', 'b=1'],
    ['/a?', '/a', ''],
    ['/a?b=1?c', '/a', 'b=1?c'],
    ['https://example.com/x?y=1', '/x', 'y=1'],
    ['http://example.com', '/', ''],
  ];
  for (const [url, path, query] of targetRows) {
    test(`splitRequestTarget ${url}`, () => assert.deepEqual(splitRequestTarget(url), { path, query }));
  }

  test('candidates add a + as space variant only when the query has a +', () => {
    const base = { method: 'GET', rawHeaders: ['Host', 'h'], signedHeaders: ['host'], payloadHash: 'x' };
    assert.equal(canonicalRequestCandidates({ ...base, url: '/a?k=v' }).candidates.length, 1);
    const withPlus = canonicalRequestCandidates({ ...base, url: '/a?k=a+b' }).candidates;
    assert.equal(withPlus.length, 2);
    assert.deepEqual(withPlus.map((c) => c.canonicalRequest.split('\n')[2]), ['k=a%2Bb', 'k=a%20b']);
  });
});
