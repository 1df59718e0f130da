/**
 * The `appstreamd` executable as an operator runs it (operator-contract.md): serve's
 * listening line, first-start credentials, setting errors, flag precedence, root
 * credentials from the environment, and the accounts/keys admin commands.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertAwsError } from '../../helpers/assert-error.js';
import { SignedClient, type RawResponse } from '../../helpers/signed-client.js';
import { databaseUrlFor, dropDatabaseFor, TEST_STORE } from '../../helpers/test-store.js';
import { LISTENING_RE, runCli, ServeProcess } from './cli-process.js';

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'appstreamd-cli-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** In the PostgreSQL pass only the store-backed group runs again (against PostgreSQL). */
const STORE_INDEPENDENT = TEST_STORE === 'postgres' ? 'does not depend on the store; runs in the SQLite pass' : false;

/**
 * Revocation reaches a running server within its credential cache lifetime (1 s): ask
 * until the key is refused, for at most `ms`.
 */
async function getUntilRefused(client: SignedClient, ms = 3000): Promise<RawResponse> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await client.get('/');
    if (res.status !== 200 || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Creds {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
}

function parseCredentials(text: string): Creds {
  const value = JSON.parse(text) as Record<string, unknown>;
  for (const key of ['accountId', 'accessKeyId', 'secretAccessKey']) {
    assert.equal(typeof value[key], 'string', `${key} missing in ${text}`);
    assert.ok((value[key] as string).length > 0);
  }
  return value as unknown as Creds;
}

// Each spawn pays ~1 s of CPU for tsx and the imports, so independent groups run side by side.
describe('appstreamd CLI', { concurrency: true }, () => {
  describe('appstreamd serve: first start and the admin commands', () => {
    const dataDir = tempDir();
    let server: ServeProcess;
    let url: string;
    let firstCreds: Creds;
    const secrets: string[] = [];
    /** The store for the server and the admin commands alike: SQLite in dataDir, or PostgreSQL. */
    const storeEnv: Record<string, string> = {};

    before(async () => {
      const databaseUrl = await databaseUrlFor(dataDir);
      if (databaseUrl) storeEnv['APPSTREAMD_DATABASE_URL'] = databaseUrl;
      server = new ServeProcess([], { APPSTREAMD_PORT: '0', APPSTREAMD_DATA_DIR: dataDir, ...storeEnv });
      url = await server.waitUntilListening();
    });
    after(async () => {
      await server?.stop();
      await dropDatabaseFor(dataDir);
    });

    test('prints exactly one listening line with the bound port', () => {
      const lines = server.stdoutLines.filter((l) => l.includes('listening on'));
      assert.equal(lines.length, 1, server.stdout);
      const m = LISTENING_RE.exec(lines[0]!);
      assert.ok(m, `not the exact line: ${JSON.stringify(lines[0])}`);
      assert.notEqual(Number(m[2]), 0);
      assert.ok(Number(m[2]) > 0 && Number(m[2]) < 65536);
    });

    test('first start writes credentials.json (0600) that authenticate', async () => {
      const file = path.join(dataDir, 'credentials.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      firstCreds = parseCredentials(readFileSync(file, 'utf8'));
      secrets.push(firstCreds.secretAccessKey);
      const res = await new SignedClient(url, firstCreds).get('/');
      assert.equal(res.status, 200, res.text);
      assert.ok(`${server.stdout}${server.stderr}`.includes(file), 'the log says where the credentials are');
    });

    test('accounts create prints credentials that work against the running server', async () => {
      const out = await runCli(['accounts', 'create', '--data-dir', dataDir, '--name', 'cli-made'], storeEnv);
      assert.equal(out.code, 0, out.stderr);
      const lines = out.stdout.trim().split('\n');
      assert.equal(lines.length, 1, out.stdout);
      const creds = parseCredentials(lines[0]!);
      secrets.push(creds.secretAccessKey);
      assert.notEqual(creds.accountId, firstCreds.accountId);
      const res = await new SignedClient(url, creds).get('/');
      assert.equal(res.status, 200, res.text);
    });

    test('keys create, list (no secrets) and revoke (then refused)', async () => {
      const created = await runCli(['keys', 'create', '--account', firstCreds.accountId, '--data-dir', dataDir], storeEnv);
      assert.equal(created.code, 0, created.stderr);
      const key = parseCredentials(created.stdout.trim());
      secrets.push(key.secretAccessKey);
      assert.equal(key.accountId, firstCreds.accountId);
      const client = new SignedClient(url, key);
      assert.equal((await client.get('/')).status, 200);

      const [listed, mine] = await Promise.all([
        runCli(['keys', 'list', '--data-dir', dataDir], storeEnv),
        runCli(['keys', 'list', '--account', firstCreds.accountId, '--data-dir', dataDir], storeEnv),
      ]);
      assert.equal(listed.code, 0, listed.stderr);
      const keys = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      const ids = keys.map((k) => k['accessKeyId']);
      assert.ok(ids.includes(key.accessKeyId) && ids.includes(firstCreds.accessKeyId), listed.stdout);
      for (const secret of secrets) assert.ok(!listed.stdout.includes(secret), 'keys list printed a secret');
      assert.ok(!/secret/i.test(listed.stdout), `keys list mentions secrets: ${listed.stdout}`);

      const mineIds = (JSON.parse(mine.stdout) as Array<Record<string, unknown>>).map((k) => k['accountId']);
      assert.ok(mineIds.length >= 2 && mineIds.every((id) => id === firstCreds.accountId), mine.stdout);

      const revoked = await runCli(['keys', 'revoke', key.accessKeyId, '--data-dir', dataDir], storeEnv);
      assert.equal(revoked.code, 0, revoked.stderr);
      assertAwsError(await getUntilRefused(client), 403, 'UnrecognizedClientException');
      assert.equal((await new SignedClient(url, firstCreds).get('/')).status, 200, 'other keys keep working');

      // Failing admin commands: non-zero exit and one line on stderr.
      const [again, unknown] = await Promise.all([
        runCli(['keys', 'revoke', key.accessKeyId, '--data-dir', dataDir], storeEnv),
        runCli(['keys', 'create', '--account', '000000000000', '--data-dir', dataDir], storeEnv),
      ]);
      assert.notEqual(again.code, 0, 'revoking twice is an error');
      assert.equal(again.stderr.trim().split('\n').length, 1, again.stderr);
      assert.notEqual(unknown.code, 0, 'keys create for an unknown account is an error');
      assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
    });

    test('no output line contains a secret', () => {
      const all = `${server.stdout}\n${server.stderr}`;
      for (const secret of secrets) assert.ok(!all.includes(secret), 'a secret reached the server output');
    });
  });

  describe('bad settings stop the server with one line naming the setting', { concurrency: true, skip: STORE_INDEPENDENT }, () => {
    const cases: Array<[string, string[], Record<string, string>, string]> = [
      ['APPSTREAMD_PORT=abc', [], { APPSTREAMD_PORT: 'abc' }, 'APPSTREAMD_PORT'],
      ['APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS=maybe', [], { APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS: 'maybe' }, 'APPSTREAMD_ALLOW_PRIVATE_INSTALLER_HOSTS'],
      ['--port 99999', ['--port', '99999'], {}, '--port'],
      ['only half of the root key', [], { APPSTREAMD_ROOT_ACCESS_KEY_ID: 'AKIAHALFKEY000000001' }, 'APPSTREAMD_ROOT'],
    ];
    for (const [name, args, env, expected] of cases) {
      test(name, async () => {
        const dataDir = tempDir();
        const out = await runCli(['serve', ...args], { APPSTREAMD_DATA_DIR: dataDir, APPSTREAMD_PORT: '0', ...env });
        assert.notEqual(out.code, 0, `exited 0\n${out.stdout}`);
        const lines = out.stderr.split('\n').filter((l) => l.length > 0);
        assert.equal(lines.length, 1, `stderr must be one line:\n${out.stderr}`);
        assert.ok(lines[0]!.includes(expected), `${JSON.stringify(lines[0])} does not name ${expected}`);
        assert.ok(!out.stdout.includes('listening'), out.stdout);
        assert.ok(!existsSync(path.join(dataDir, 'credentials.json')), 'nothing is created on a bad setting');
      });
    }
  });

  describe('flags win over the environment', { skip: STORE_INDEPENDENT }, () => {
    const flagDir = tempDir();
    const envDir = tempDir();
    let server: ServeProcess;

    after(async () => {
      await server?.stop();
    });

    test('--port, --data-dir, --region and --log-level override bad or different env values', async () => {
      server = new ServeProcess(['--port', '0', '--data-dir', flagDir, '--region', 'us-east-1', '--log-level', 'warn'], {
        APPSTREAMD_PORT: 'abc',
        APPSTREAMD_DATA_DIR: envDir,
        APPSTREAMD_REGION: 'eu-west-1',
        APPSTREAMD_LOG_LEVEL: 'loud',
      });
      const url = await server.waitUntilListening();
      assert.ok(existsSync(path.join(flagDir, 'credentials.json')), 'credentials belong in the --data-dir folder');
      assert.ok(!existsSync(path.join(envDir, 'credentials.json')), 'the env data dir was not used');
      const creds = parseCredentials(readFileSync(path.join(flagDir, 'credentials.json'), 'utf8'));
      const res = await new SignedClient(url, creds, 'us-east-1').get('/');
      assert.equal(res.status, 200, `the --region scope must be accepted: ${res.text}`);
      assertAwsError(await new SignedClient(url, creds, 'eu-west-1').get('/'), 403, 'InvalidSignatureException');
    });
  });

  describe('root credentials from the environment', { skip: STORE_INDEPENDENT }, () => {
    const dataDir = tempDir();
    const root = { accessKeyId: 'AKIAROOTCLITEST00001', secretAccessKey: 'rootSecretForTheCliTest/0123456789abcdef' };
    let server: ServeProcess;

    after(async () => {
      await server?.stop();
    });

    test('are accepted and no credentials.json is written', async () => {
      server = new ServeProcess([], {
        APPSTREAMD_PORT: '0',
        APPSTREAMD_DATA_DIR: dataDir,
        APPSTREAMD_ROOT_ACCESS_KEY_ID: root.accessKeyId,
        APPSTREAMD_ROOT_SECRET_ACCESS_KEY: root.secretAccessKey,
      });
      const url = await server.waitUntilListening();
      const res = await new SignedClient(url, root).get('/');
      assert.equal(res.status, 200, res.text);
      assert.ok(!existsSync(path.join(dataDir, 'credentials.json')));
      assert.ok(!`${server.stdout}${server.stderr}`.includes(root.secretAccessKey), 'the root secret reached the output');
      const wrong = new SignedClient(url, { accessKeyId: root.accessKeyId, secretAccessKey: 'not-the-root-secret' });
      assertAwsError(await wrong.get('/'), 403, 'InvalidSignatureException');
    });
  });

  describe('--help works for every command', { skip: STORE_INDEPENDENT }, () => {
    const commands = [[], ['serve'], ['accounts', 'create'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke']];
    test('each prints its usage and exits 0', async () => {
      const results = await Promise.all(commands.map((c) => runCli([...c, '--help'])));
      results.forEach((out, i) => {
        const name = ['appstreamd', ...commands[i]!].join(' ');
        assert.equal(out.code, 0, `${name} --help: ${out.stderr}`);
        assert.match(out.stdout, /^Usage: /m, `${name} --help printed no usage`);
      });
      assert.match(results[1]!.stdout, /--data-dir/);
      assert.match(results[1]!.stdout, /APPSTREAMD_PORT/);
      assert.match(results[3]!.stdout, /--account/);
    });
  });
});
