/** `accounts create`, `keys create|list|revoke`: direct store access, JSON on stdout. */
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, loadSettings } from '../config/settings.js';
import { AccountsRepo } from '../store/accounts-repo.js';
import { openStore } from '../store/database.js';
import { createSecretBox, loadOrCreateMasterKey } from '../store/secret-box.js';

interface StoreOpts {
  dataDir?: string;
  databaseUrl?: string;
}

async function withAccounts<T>(opts: StoreOpts, fn: (repo: AccountsRepo) => Promise<T>): Promise<T> {
  let settings;
  try {
    settings = loadSettings(process.env, { 'data-dir': opts.dataDir, 'database-url': opts.databaseUrl });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`appstreamd: invalid setting ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const dataDir = path.resolve(settings.dataDir);
  const store = await openStore({ dataDir, databaseUrl: settings.databaseUrl });
  try {
    return await fn(new AccountsRepo(store.db, createSecretBox(loadOrCreateMasterKey(dataDir))));
  } finally {
    await store.close();
  }
}

function storeOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data folder [APPSTREAMD_DATA_DIR, default ./data]')
    .option('--database-url <url>', 'PostgreSQL URL [APPSTREAMD_DATABASE_URL]');
}

const print = (value: unknown) => process.stdout.write(JSON.stringify(value) + '\n');

export function accountsCommand(): Command {
  const accounts = new Command('accounts').description('manage accounts');
  storeOptions(accounts.command('create').description('create an account with one access key; prints the credentials as JSON'))
    .option('--name <name>', 'account name', 'account')
    .action(async (opts: StoreOpts & { name: string }) => {
      print(await withAccounts(opts, (repo) => repo.createAccountWithKey(opts.name)));
    });
  return accounts;
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('manage access keys');
  storeOptions(keys.command('create').description('create an access key for an account; prints it as JSON'))
    .requiredOption('--account <id>', 'account id')
    .action(async (opts: StoreOpts & { account: string }) => {
      await withAccounts(opts, async (repo) => {
        if (!(await repo.getAccount(opts.account))) {
          process.stderr.write(`appstreamd: no account ${opts.account}\n`);
          process.exitCode = 1;
          return;
        }
        print(await repo.createKey(opts.account));
      });
    });
  storeOptions(keys.command('list').description('list access keys (never their secrets)'))
    .option('--account <id>', 'only this account')
    .action(async (opts: StoreOpts & { account?: string }) => {
      print(await withAccounts(opts, (repo) => repo.listKeys(opts.account)));
    });
  storeOptions(keys.command('revoke').description('revoke an access key').argument('<accessKeyId>', 'the key to revoke')).action(
    async (accessKeyId: string, opts: StoreOpts) => {
      const ok = await withAccounts(opts, (repo) => repo.revokeKey(accessKeyId));
      if (!ok) {
        process.stderr.write(`appstreamd: no active access key ${accessKeyId}\n`);
        process.exitCode = 1;
        return;
      }
      print({ accessKeyId, revoked: true });
    },
  );
  return keys;
}
