import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { isForbiddenAddress, parseIpv6Groups } from '../../../src/install/address-policy.js';
import { BuildFailure } from '../../../src/install/build-failure.js';
import { nextHopUrl, redactUrl, resolveVettedAddress } from '../../../src/install/fetch-installer.js';

describe('isForbiddenAddress', () => {
  const forbidden = [
    '127.0.0.1', '127.255.255.254', '0.0.0.0', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255',
    '192.168.1.1', '169.254.169.254', '100.64.0.1', '100.127.255.255', '224.0.0.1', '239.255.255.250',
    '255.255.255.255', '240.0.0.1',
    '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'febf::1', 'ff02::1', 'fec0::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:0:127.0.0.1',
    '::127.0.0.1', '64:ff9b::10.0.0.1', '2002:7f00:1::', '2002:a9fe:a9fe::1',
    'not-an-ip', '',
  ];
  const allowed = [
    '8.8.8.8', '1.1.1.1', '93.184.216.34', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1',
    '169.253.0.1', '11.0.0.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8', '2002:808:808::1',
  ];
  for (const address of forbidden) {
    test(`refuses ${address || '(empty)'}`, () => assert.equal(isForbiddenAddress(address), true));
  }
  for (const address of allowed) {
    test(`allows ${address}`, () => assert.equal(isForbiddenAddress(address), false));
  }
  test('parses IPv6 forms to eight groups', () => {
    assert.deepEqual(parseIpv6Groups('::ffff:127.0.0.1'), [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    assert.deepEqual(parseIpv6Groups('2001:db8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(parseIpv6Groups('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(parseIpv6Groups('1.2.3.4'), null);
  });
});

function fakeResolver(table: Record<string, string[]>): (host: string) => Promise<LookupAddress[]> {
  return async (host) => {
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describe('redirect hops', () => {
  const resolver = fakeResolver({
    'downloads.example': ['93.184.216.34'],
    'internal.example': ['10.1.2.3'],
    'mixed.example': ['93.184.216.34', '192.168.0.10'],
    'mapped.example': ['::ffff:127.0.0.1'],
  });

  test('a redirect from an allowed host to a private one is refused on the next hop', async () => {
    const first = new URL('https://downloads.example/pkg.tar.gz?X-Amz-Signature=secret');
    const vetted = await resolveVettedAddress(first, false, resolver);
    assert.equal(vetted.address, '93.184.216.34');

    for (const location of ['http://internal.example/x', 'http://10.0.0.1/x', 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data/']) {
      const next = nextHopUrl(first, location, 0, 5);
      await assert.rejects(resolveVettedAddress(next, false, resolver), (error: unknown) => {
        assert.ok(error instanceof BuildFailure);
        assert.equal(error.step, 'Copying');
        assert.equal(error.errorCode, 'InstallerDownloadFailed');
        assert.match(error.cause, /not allowed/);
        return true;
      });
    }
  });

  test('a host with any private address is refused, even with a public one too', async () => {
    await assert.rejects(resolveVettedAddress(new URL('http://mixed.example/'), false, resolver), BuildFailure);
    await assert.rejects(resolveVettedAddress(new URL('http://mapped.example/'), false, resolver), BuildFailure);
  });

  test('private addresses pass when the operator allows them', async () => {
    const vetted = await resolveVettedAddress(new URL('http://internal.example/'), true, resolver);
    assert.equal(vetted.address, '10.1.2.3');
  });

  test('an unknown host fails in Copying', async () => {
    await assert.rejects(resolveVettedAddress(new URL('http://nowhere.example/'), true, resolver), (error: unknown) => {
      assert.ok(error instanceof BuildFailure);
      assert.match(error.cause, /could not be resolved/);
      return true;
    });
  });

  test('relative locations resolve against the current URL', () => {
    const next = nextHopUrl(new URL('https://downloads.example/a/b'), '../c?x=1', 0, 5);
    assert.equal(next.href, 'https://downloads.example/c?x=1');
  });

  test('non-http schemes, missing Location and too many hops are refused', () => {
    const from = new URL('https://downloads.example/a');
    assert.throws(() => nextHopUrl(from, 'file:///etc/passwd', 0, 5), BuildFailure);
    assert.throws(() => nextHopUrl(from, 'ftp://downloads.example/x', 0, 5), BuildFailure);
    assert.throws(() => nextHopUrl(from, undefined, 0, 5), BuildFailure);
    assert.throws(() => nextHopUrl(from, '/b', 5, 5), /more than 5 times/);
    assert.doesNotThrow(() => nextHopUrl(from, '/b', 4, 5));
  });

  test('redactUrl drops credentials and the query string', () => {
    const text = redactUrl('https://user:pw@bucket.example/key.tgz?X-Amz-Signature=abc&X-Amz-Credential=AKIA');
    assert.equal(text, 'https://bucket.example/key.tgz (query omitted)');
    assert.doesNotMatch(text, /abc|AKIA|pw/);
  });
});
