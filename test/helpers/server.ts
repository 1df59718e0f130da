/** Starts a real appstreamd on a loopback port with a fresh data folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadSettings, type Settings } from '../../src/config/settings.js';
import { createApp, type App, type AppOptions } from '../../src/http/app.js';
import { createLogger } from '../../src/http/logger.js';
import { findSecretsInLogs, knownSecrets } from './log-secrets.js';
import { databaseUrlFor, dropDatabaseFor } from './test-store.js';

export interface TestServer {
  app: App;
  url: string;
  dataDir: string;
  settings: Settings;
  /** Every log line the server wrote (JSON strings). */
  logs: string[];
  credentials: { accessKeyId: string; secretAccessKey: string; accountId: string };
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startServer(
  env: Record<string, string> = {},
  extra: Partial<Pick<AppOptions, 'now' | 'extraRoutes'>> & { dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = extra.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'appstreamd-test-'));
  const databaseUrl = env['APPSTREAMD_DATABASE_URL'] ?? (await databaseUrlFor(dataDir));
  const settings = loadSettings({
    APPSTREAMD_PORT: '0',
    APPSTREAMD_DATA_DIR: dataDir,
    APPSTREAMD_LOG_LEVEL: 'info',
    ...(databaseUrl ? { APPSTREAMD_DATABASE_URL: databaseUrl } : {}),
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      cb();
    },
  });
  const app = await createApp({ settings, logger: createLogger(settings.logLevel, sink), now: extra.now, extraRoutes: extra.extraRoutes });
  let url: string;
  try {
    url = await app.listen();
  } catch (err) {
    // A half-started server must not keep the test process alive.
    await app.close().catch(() => undefined);
    if (!extra.dataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const credentials = await app.accounts.createAccountWithKey('test');
  return {
    app,
    url,
    dataDir,
    settings,
    logs,
    credentials,
    async stop(opts = {}) {
      const secrets = await knownSecrets(app).catch(() => [] as string[]);
      await app.close();
      if (!opts.keepData) {
        rmSync(dataDir, { recursive: true, force: true });
        await dropDatabaseFor(dataDir);
      }
      const leaks = findSecretsInLogs(logs, secrets);
      if (leaks.length > 0) throw new Error(`secrets reached the server log:\n${leaks.slice(0, 5).join('\n')}`);
    },
  };
}
