/** `appstreamd serve`: load settings (flags win), start, print the listening line. */
import { Command } from 'commander';
import { ConfigError, loadSettings, SETTING_DEFS, type SettingFlags } from '../config/settings.js';

export function serveCommand(): Command {
  const cmd = new Command('serve').description('run the AppStream v1 API server (what `npm start` runs)');
  for (const d of SETTING_DEFS) cmd.option(`--${d.flag} <value>`, `${d.description} [${d.env}, default "${d.defaultValue}"]`);
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const flags: SettingFlags = {};
    for (const d of SETTING_DEFS) {
      const key = d.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      if (opts[key] !== undefined) flags[d.flag] = opts[key];
    }
    let settings;
    try {
      settings = loadSettings(process.env, flags);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`appstreamd: invalid setting ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    // Loaded here so the admin commands and --help do not pay for the whole server.
    const { createApp } = await import('../http/app.js');
    const app = await createApp({ settings });
    if (app.credentialsFile) app.logger.info(`first start: created an account and an access key; credentials are in ${app.credentialsFile}`);
    const url = await app.listen();
    process.stdout.write(`appstreamd listening on ${url}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          app.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  return cmd;
}
