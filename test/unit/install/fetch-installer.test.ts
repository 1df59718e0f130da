import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BuildFailure } from '../../../src/install/build-failure.js';
import { fetchInstaller, type FetchInstallerOptions } from '../../../src/install/fetch-installer.js';
import { makeTempDir, removeDir, serveBytes, startServer, type TestServer } from '../../helpers/packages.js';

const PAYLOAD = randomBytes(200_000);
const PAYLOAD_SHA = createHash('sha256').update(PAYLOAD).digest('hex');

let server: TestServer;
let dir: string;
let counter = 0;

before(async () => {
  dir = await makeTempDir();
  server = await startServer({
    '/pkg.bin': serveBytes(PAYLOAD),
    '/chunked.bin': serveBytes(PAYLOAD, { chunked: true }),
    '/redirect': (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', '/pkg.bin');
      res.end();
    },
    '/loop': (_req, res) => {
      res.statusCode = 301;
      res.setHeader('location', '/loop');
      res.end();
    },
    '/to-file': (_req, res) => {
      res.statusCode = 302;
      res.setHeader('location', 'file:///etc/passwd');
      res.end();
    },
    '/hang': (_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('only part');
    },
  });
});

after(async () => {
  await server.close();
  await removeDir(dir);
});

function options(url: string, extra: Partial<FetchInstallerOptions> = {}): FetchInstallerOptions {
  counter += 1;
  return {
    url,
    destinationFile: path.join(dir, `download-${counter}`),
    allowPrivateHosts: true,
    maxBytes: 1_000_000,
    timeoutMs: 10_000,
    maxRedirects: 3,
    ...extra,
  };
}

async function expectCopyingFailure(work: Promise<unknown>, pattern: RegExp): Promise<BuildFailure> {
  let caught: unknown;
  try {
    await work;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BuildFailure, `expected a BuildFailure, got ${String(caught)}`);
  assert.equal(caught.step, 'Copying');
  assert.equal(caught.errorCode, 'InstallerDownloadFailed');
  assert.match(caught.cause, pattern);
  assert.ok(caught.solution.length > 0);
  return caught;
}

describe('fetchInstaller', () => {
  test('downloads, hashes and names the file after the URL', async () => {
    const result = await fetchInstaller(options(`${server.origin}/pkg.bin?X-Amz-Signature=abc`, { expectedSha256: PAYLOAD_SHA.toUpperCase() }));
    assert.equal(result.bytes, PAYLOAD.length);
    assert.equal(result.sha256, PAYLOAD_SHA);
    assert.equal(result.fileName, 'pkg.bin');
    assert.deepEqual(await readFile(result.file), PAYLOAD);
  });

  test('connects to exactly the vetted address (no second DNS lookup)', async () => {
    // "pinned.invalid" does not exist in DNS: the download can only work if the socket uses the
    // address the vetting step resolved, through the pinned lookup.
    let asked = 0;
    const result = await fetchInstaller(
      options(`http://pinned.invalid:${server.port}/pkg.bin`, {
        resolveHost: async (host) => {
          asked += 1;
          assert.equal(host, 'pinned.invalid');
          return [{ address: '127.0.0.1', family: 4 }];
        },
      }),
    );
    assert.equal(result.sha256, PAYLOAD_SHA);
    assert.equal(asked, 1);
  });

  test('follows a redirect within the limit', async () => {
    const result = await fetchInstaller(options(`${server.origin}/redirect`));
    assert.equal(result.sha256, PAYLOAD_SHA);
  });

  test('refuses endless redirects', async () => {
    await expectCopyingFailure(fetchInstaller(options(`${server.origin}/loop`)), /redirected more than 3 times/);
  });

  test('refuses a redirect to a file: URL', async () => {
    await expectCopyingFailure(fetchInstaller(options(`${server.origin}/to-file`)), /file: URL/);
  });

  test('a wrong sha256 fails', async () => {
    await expectCopyingFailure(fetchInstaller(options(`${server.origin}/pkg.bin`, { expectedSha256: '0'.repeat(64) })), /SHA-256/);
  });

  test('404 fails and the cause carries no query string', async () => {
    const failure = await expectCopyingFailure(
      fetchInstaller(options(`${server.origin}/missing.tgz?X-Amz-Signature=topsecret&X-Amz-Credential=AKIAX`)),
      /HTTP 404/,
    );
    assert.doesNotMatch(failure.cause, /topsecret|AKIAX|X-Amz/);
    assert.doesNotMatch(failure.message, /topsecret/);
  });

  test('an unreachable URL (closed port) fails', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expectCopyingFailure(fetchInstaller(options(`http://127.0.0.1:${port}/pkg.tgz?sig=hidden`)), /ECONNREFUSED/);
  });

  test('oversize by Content-Length fails before the body is read', async () => {
    const opts = options(`${server.origin}/pkg.bin`, { maxBytes: 1000 });
    await expectCopyingFailure(fetchInstaller(opts), /larger than the limit of 1000 bytes/);
    await assert.rejects(stat(opts.destinationFile), { code: 'ENOENT' });
  });

  test('oversize while streaming without Content-Length fails', async () => {
    const opts = options(`${server.origin}/chunked.bin`, { maxBytes: 100_000 });
    await expectCopyingFailure(fetchInstaller(opts), /larger than the limit of 100000 bytes/);
    await assert.rejects(stat(opts.destinationFile), { code: 'ENOENT' });
  });

  test('a stalled download times out', async () => {
    await expectCopyingFailure(fetchInstaller(options(`${server.origin}/hang`, { timeoutMs: 300 })), /did not finish within/);
  });

  test('other schemes are refused', async () => {
    await expectCopyingFailure(fetchInstaller(options('ftp://example.com/x.tgz')), /scheme ftp: is not supported/);
    await expectCopyingFailure(fetchInstaller(options('not a url')), /not a valid URL/);
  });

  test('file: URLs work only when private hosts are allowed', async () => {
    const source = path.join(dir, 'local.bin');
    await writeFile(source, PAYLOAD);
    const url = pathToFileURL(source).href;
    const result = await fetchInstaller(options(url));
    assert.equal(result.sha256, PAYLOAD_SHA);
    assert.equal(result.fileName, 'local.bin');
    await expectCopyingFailure(fetchInstaller(options(url, { allowPrivateHosts: false })), /file: installer URLs are not allowed/);
  });

  test('a cancelled download stops', async () => {
    const controller = new AbortController();
    const work = fetchInstaller(options(`${server.origin}/hang`, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    await expectCopyingFailure(work, /cancelled/);
  });
});

describe('fetchInstaller refuses private targets (SSRF)', () => {
  for (const host of ['127.0.0.1', '[::1]', '10.0.0.1', '169.254.169.254', 'localhost', '[::ffff:127.0.0.1]', '2130706433', '0x7f.1']) {
    test(`refuses ${host} and sends no request`, async () => {
      const before = server.requests();
      const port = ['127.0.0.1', 'localhost', '2130706433', '0x7f.1'].includes(host) ? `:${server.port}` : '';
      await expectCopyingFailure(
        fetchInstaller(options(`http://${host}${port}/pkg.bin`, { allowPrivateHosts: false, timeoutMs: 5000 })),
        /not allowed/,
      );
      assert.equal(server.requests(), before, 'the loopback server must not have been contacted');
    });
  }
});
