import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  BuildFailure,
  clearScratch,
  removeImage,
  reprovision,
  runBuild,
  type BuildSettings,
  type BuildSpec,
  type BuildStep,
} from '../../../src/install/pipeline.js';
import { checkProvisioning, normalizeLaunchPath } from '../../../src/install/provision.js';
import { gzip, makeTarGz, makeTempDir, makeZip, rawTar, removeDir, serveBytes, startServer, type TestServer } from '../../helpers/packages.js';

const asRoot = process.getuid?.() === 0;
let root: string;
let server: TestServer;
const served: Record<string, Buffer> = {};

before(async () => {
  root = await makeTempDir();
  const tarGz = await makeTarGz(root, [
    { path: 'bin/app', content: '#!/bin/sh\necho hello from app\n', mode: 0o755 },
    { path: 'share/readme.txt', content: 'read me', mode: 0o600 },
    { path: 'share/data.txt', content: 'not a program', mode: 0o644 },
  ]);
  served['/app.tar.gz'] = tarGz;
  served['/app.zip'] = makeZip([
    { name: 'bin/', mode: 0o040755 },
    { name: 'bin/app', data: '#!/bin/sh\necho zip app\n', mode: 0o100755, deflate: true },
    { name: 'lib/notes.txt', data: 'notes', mode: 0o100644 },
  ]);
  served['/tool.sh'] = Buffer.from('#!/bin/sh\necho single file\n');
  served['/corrupt.tar.gz'] = Buffer.concat([gzip(rawTar([{ name: 'a', type: '0', data: 'x'.repeat(5000) }])).subarray(0, 30), Buffer.alloc(100, 7)]);
  const routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {};
  for (const [route, body] of Object.entries(served)) routes[route] = serveBytes(body);
  server = await startServer(routes);
});

after(async () => {
  await server.close();
  await removeDir(root);
});

interface Harness {
  settings: BuildSettings;
  steps: BuildStep[];
  hooks: { onStep(step: BuildStep): void; signal?: AbortSignal };
}

async function harness(overrides: Partial<BuildSettings> = {}, signal?: AbortSignal): Promise<Harness> {
  const base = path.join(root, `h-${randomUUID()}`);
  await mkdir(base);
  const steps: BuildStep[] = [];
  return {
    settings: {
      workRoot: path.join(base, 'build'),
      imagesRoot: path.join(base, 'images'),
      allowPrivateHosts: true,
      maxInstallerBytes: 5_000_000,
      downloadTimeoutMs: 10_000,
      installTimeoutMs: 20_000,
      ...overrides,
    },
    steps,
    hooks: { onStep: (step) => void steps.push(step), ...(signal ? { signal } : {}) },
  };
}

function spec(route: string, extra: Partial<BuildSpec> = {}): BuildSpec {
  return {
    applicationId: randomUUID(),
    installerUrl: `${server.origin}${route}?X-Amz-Signature=shh`,
    installerParameters: '',
    launchPath: '/bin/app',
    streamProtocol: 'terminal',
    ...extra,
  };
}

async function expectFailure(work: Promise<unknown>, step: BuildStep, errorCode: BuildFailure['errorCode'], pattern: RegExp): Promise<BuildFailure> {
  let caught: unknown;
  try {
    await work;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BuildFailure, `expected a BuildFailure, got ${String(caught)}`);
  assert.equal(caught.step, step);
  assert.equal(caught.errorCode, errorCode);
  assert.match(caught.cause, pattern);
  assert.equal(caught.failureCause, caught.cause);
  assert.ok(caught.solution.length > 10);
  assert.doesNotMatch(caught.cause, /shh/);
  return caught;
}

async function entriesOf(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

describe('runBuild: successful builds', () => {
  test('tar.gz: every step in order, executable launchPath inside the frozen image, digest', async () => {
    const h = await harness();
    const build = spec('/app.tar.gz');
    const result = await runBuild(build, h.settings, h.hooks);
    assert.deepEqual(h.steps, ['Preparing', 'Copying', 'Installing', 'Creating', 'Provisioning']);
    assert.equal(result.imageDir, path.join(h.settings.imagesRoot, build.applicationId));
    assert.match(result.digest, /^[0-9a-f]{64}$/);
    const app = await stat(path.join(result.imageDir, 'bin/app'));
    assert.equal(app.mode & 0o777, 0o755);
    assert.equal((await stat(path.join(result.imageDir, 'share/readme.txt'))).mode & 0o777, 0o644);
    assert.equal((await stat(path.join(result.imageDir, 'share'))).mode & 0o777, 0o755);
    if (asRoot) assert.equal(app.uid, 0);
    assert.deepEqual(await entriesOf(h.settings.workRoot), [], 'the scratch folder is removed');

    // The same package gives the same digest; a rebuild replaces the image in place.
    const again = await runBuild(build, h.settings, h.hooks);
    assert.equal(again.digest, result.digest);
    assert.deepEqual(await entriesOf(h.settings.imagesRoot), [build.applicationId]);

    // Reactivate re-checks only Provisioning and reports the same digest.
    const steps: BuildStep[] = [];
    const reprovisioned = await reprovision(build, h.settings, { onStep: (s) => void steps.push(s) });
    assert.deepEqual(steps, ['Provisioning']);
    assert.equal(reprovisioned.digest, result.digest);
  });

  test('zip with an install command that runs unprivileged in the package folder', async () => {
    const h = await harness();
    const build = spec('/app.zip', {
      installerParameters: 'printf "generated\\n" > generated.txt && id -u > uid.txt && printf "#!/bin/sh\\necho made\\n" > made.sh && chmod 755 made.sh && echo "$HOME" > home.txt',
      launchPath: 'made.sh',
    });
    const result = await runBuild(build, h.settings, h.hooks);
    assert.equal(await readFile(path.join(result.imageDir, 'generated.txt'), 'utf8'), 'generated\n');
    const uid = (await readFile(path.join(result.imageDir, 'uid.txt'), 'utf8')).trim();
    if (asRoot) {
      assert.equal(uid, '65534', 'the command runs as an unprivileged user');
      const made = await stat(path.join(result.imageDir, 'made.sh'));
      assert.equal(made.uid, 0, 'files are owned by root again after the command');
    } else {
      assert.equal(uid, String(process.getuid?.()));
    }
    assert.ok((await readFile(path.join(result.imageDir, 'home.txt'), 'utf8')).trim().endsWith('/package'));
    assert.ok((await stat(path.join(result.imageDir, 'bin/app'))).mode & 0o111);
  });

  test('a single file keeps the URL basename and becomes executable', async () => {
    const h = await harness();
    const result = await runBuild(spec('/tool.sh', { launchPath: 'tool.sh' }), h.settings, h.hooks);
    assert.equal((await stat(path.join(result.imageDir, 'tool.sh'))).mode & 0o777, 0o755);
    assert.match(result.digest, /^[0-9a-f]{64}$/);
  });
});

describe('runBuild: failures name their step and error code', () => {
  test('unreachable URL (closed port) fails in Copying', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const h = await harness();
    await expectFailure(
      runBuild(spec('/x', { installerUrl: `http://127.0.0.1:${port}/app.tgz?X-Amz-Signature=shh` }), h.settings, h.hooks),
      'Copying',
      'InstallerDownloadFailed',
      /ECONNREFUSED/,
    );
    assert.deepEqual(h.steps, ['Preparing', 'Copying']);
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
    assert.deepEqual(await entriesOf(h.settings.imagesRoot), []);
  });

  test('404 fails in Copying', async () => {
    const h = await harness();
    await expectFailure(runBuild(spec('/nope.tgz'), h.settings, h.hooks), 'Copying', 'InstallerDownloadFailed', /HTTP 404/);
  });

  test('an installer over APPSTREAMD_MAX_INSTALLER_BYTES fails in Copying', async () => {
    const h = await harness({ maxInstallerBytes: 100 });
    await expectFailure(runBuild(spec('/app.tar.gz'), h.settings, h.hooks), 'Copying', 'InstallerDownloadFailed', /larger than the limit/);
  });

  test('SSRF: private hosts are refused in Copying without contacting them', async () => {
    const h = await harness({ allowPrivateHosts: false });
    const before = server.requests();
    for (const host of ['127.0.0.1', '[::1]', '10.0.0.1', '169.254.169.254', 'localhost']) {
      const port = host === '127.0.0.1' || host === 'localhost' ? `:${server.port}` : '';
      await expectFailure(
        runBuild(spec('/x', { installerUrl: `http://${host}${port}/app.tar.gz` }), h.settings, h.hooks),
        'Copying',
        'InstallerDownloadFailed',
        /not allowed/,
      );
    }
    assert.equal(server.requests(), before);
  });

  test('a corrupt archive fails in Installing', async () => {
    const h = await harness();
    await expectFailure(runBuild(spec('/corrupt.tar.gz'), h.settings, h.hooks), 'Installing', 'InstallerFailed', /could not be unpacked/);
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
  });

  test('a failing install command fails in Installing with its output', async () => {
    const h = await harness();
    const failure = await expectFailure(
      runBuild(spec('/app.tar.gz', { installerParameters: 'echo "something broke" >&2; exit 1' }), h.settings, h.hooks),
      'Installing',
      'InstallerFailed',
      /exited with code 1/,
    );
    assert.match(failure.cause, /something broke/);
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
    assert.deepEqual(await entriesOf(h.settings.imagesRoot), []);
  });

  test('an install command over its time limit is killed', async () => {
    const h = await harness({ installTimeoutMs: 500 });
    await expectFailure(
      runBuild(spec('/app.tar.gz', { installerParameters: 'echo started; sleep 30 & sleep 30' }), h.settings, h.hooks),
      'Installing',
      'InstallerFailed',
      /did not finish within/,
    );
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
  });

  test('a missing launchPath fails in Provisioning and removes the image', async () => {
    const h = await harness();
    await expectFailure(runBuild(spec('/app.tar.gz', { launchPath: 'bin/missing' }), h.settings, h.hooks), 'Provisioning', 'ProvisioningFailed', /does not exist/);
    assert.deepEqual(await entriesOf(h.settings.imagesRoot), []);
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
  });

  test('a non-executable launchPath fails in Provisioning', async () => {
    const h = await harness();
    await expectFailure(runBuild(spec('/app.tar.gz', { launchPath: 'share/data.txt' }), h.settings, h.hooks), 'Provisioning', 'ProvisioningFailed', /not executable/);
  });

  test('a launchPath linking outside the image fails in Provisioning', async () => {
    const h = await harness();
    await expectFailure(
      runBuild(spec('/app.tar.gz', { installerParameters: 'ln -s /bin/sh escape', launchPath: 'escape' }), h.settings, h.hooks),
      'Provisioning',
      'ProvisioningFailed',
      /resolves outside/,
    );
  });

  test('a launchPath that is a folder fails in Provisioning', async () => {
    const h = await harness();
    await expectFailure(runBuild(spec('/app.tar.gz', { launchPath: '/bin' }), h.settings, h.hooks), 'Provisioning', 'ProvisioningFailed', /not a regular file/);
  });

  test('cancelling stops the install command and cleans up', async () => {
    const controller = new AbortController();
    const h = await harness({}, controller.signal);
    const work = runBuild(spec('/app.tar.gz', { installerParameters: 'sleep 30' }), h.settings, {
      signal: controller.signal,
      onStep: (step) => {
        if (step === 'Installing') setTimeout(() => controller.abort(), 300);
      },
    });
    await expectFailure(work, 'Installing', 'InstallerFailed', /cancelled/);
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
  });

  test('an error thrown by onStep passes through unchanged and the scratch folder goes', async () => {
    const h = await harness();
    const marker = new Error('application was deleted');
    await assert.rejects(
      runBuild(spec('/app.tar.gz'), h.settings, {
        onStep: (step) => {
          if (step === 'Installing') throw marker;
        },
      }),
      (error: unknown) => error === marker,
    );
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
  });
});

describe('provisioning checks', () => {
  test('launchPath normalisation: a leading / is the image root', () => {
    assert.equal(normalizeLaunchPath('/bin/app'), 'bin/app');
    assert.equal(normalizeLaunchPath('bin//./app'), 'bin/app');
    assert.throws(() => normalizeLaunchPath('/'), BuildFailure);
    assert.throws(() => normalizeLaunchPath('../etc/passwd'), BuildFailure);
    assert.throws(() => normalizeLaunchPath('a/../../b'), BuildFailure);
  });

  test('x11 needs Xvnc on PATH', async () => {
    const image = path.join(root, `img-${randomUUID()}`);
    await mkdir(image);
    await writeFile(path.join(image, 'app'), '#!/bin/sh\n');
    await chmod(image + '/app', 0o755);
    const emptyBin = path.join(root, `bin-${randomUUID()}`);
    await mkdir(emptyBin);
    await assert.rejects(
      checkProvisioning({ imageDir: image, launchPath: 'app', streamProtocol: 'x11', searchPath: emptyBin }),
      (error: unknown) => error instanceof BuildFailure && error.errorCode === 'ProvisioningFailed' && /Xvnc/.test(error.cause),
    );
    await writeFile(path.join(emptyBin, 'Xvnc'), '#!/bin/sh\n');
    await chmod(path.join(emptyBin, 'Xvnc'), 0o755);
    assert.equal(await checkProvisioning({ imageDir: image, launchPath: 'app', streamProtocol: 'x11', searchPath: emptyBin }), await import('node:fs/promises').then((fs) => fs.realpath(path.join(image, 'app'))));
    await checkProvisioning({ imageDir: image, launchPath: '/app', streamProtocol: 'terminal', searchPath: emptyBin });
  });

  test('reprovision of a missing image fails in Provisioning', async () => {
    const h = await harness();
    await expectFailure(reprovision(spec('/app.tar.gz'), h.settings, h.hooks), 'Provisioning', 'ProvisioningFailed', /image is missing/);
  });

  test('reprovision failure leaves the image in place', async () => {
    const h = await harness();
    const build = spec('/app.tar.gz');
    const result = await runBuild(build, h.settings, h.hooks);
    await expectFailure(reprovision({ ...build, launchPath: 'nope' }, h.settings, h.hooks), 'Provisioning', 'ProvisioningFailed', /does not exist/);
    assert.ok((await stat(result.imageDir)).isDirectory());
  });
});

describe('image and scratch housekeeping', () => {
  test('removeImage deletes the image and tolerates a missing one', async () => {
    const h = await harness();
    const build = spec('/tool.sh', { launchPath: 'tool.sh' });
    const result = await runBuild(build, h.settings, h.hooks);
    await removeImage(h.settings, build.applicationId);
    await assert.rejects(lstat(result.imageDir), { code: 'ENOENT' });
    assert.deepEqual(await entriesOf(h.settings.imagesRoot), []);
    await removeImage(h.settings, build.applicationId);
    await assert.rejects(removeImage(h.settings, '../escape'));
  });

  test('clearScratch removes every leftover build folder and half-moved image, keeping images', async () => {
    const h = await harness();
    const build = spec('/tool.sh', { launchPath: 'tool.sh' });
    const result = await runBuild(build, h.settings, h.hooks);
    const leftover = path.join(h.settings.workRoot, `${randomUUID()}-abc123`);
    await mkdir(path.join(leftover, 'package', 'deep'), { recursive: true });
    await writeFile(path.join(leftover, 'package', 'deep', 'file'), 'x');
    await chmod(path.join(leftover, 'package', 'deep'), 0o500);
    const stale = path.join(h.settings.imagesRoot, `.${build.applicationId}.old-0a1b2c`);
    await mkdir(stale);
    // A fresh side folder may be another instance's swap in progress: it stays.
    const fresh = path.join(h.settings.imagesRoot, `.${build.applicationId}.incoming-0d0e0f`);
    await mkdir(fresh);
    const longAgo = new Date(Date.now() - 3_600_000);
    await utimes(stale, longAgo, longAgo);
    await clearScratch(h.settings);
    assert.deepEqual(await entriesOf(h.settings.workRoot), []);
    assert.deepEqual((await entriesOf(h.settings.imagesRoot)).sort(), [`.${build.applicationId}.incoming-0d0e0f`, build.applicationId].sort());
    await rm(fresh, { recursive: true });
    assert.ok((await stat(path.join(result.imageDir, 'tool.sh'))).isFile());
    // A missing workRoot is fine too.
    await clearScratch({ ...h.settings, workRoot: path.join(root, 'does-not-exist') });
  });
});
