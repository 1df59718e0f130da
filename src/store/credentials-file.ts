/**
 * First-start credentials (operator contract): when no root key is configured and no
 * account exists, create one account with one key and write them to
 * <dataDir>/credentials.json (0600). The secret is written to that file only, never logged.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AccountsRepo } from './accounts-repo.js';

export interface BootstrapResult {
  /** Path of the credentials file written now, if any. */
  written: string | null;
}

export async function bootstrapCredentials(
  accounts: AccountsRepo,
  dataDir: string,
  root: { accessKeyId: string | null; secretAccessKey: string | null },
): Promise<BootstrapResult> {
  if (root.accessKeyId && root.secretAccessKey) {
    await accounts.ensureRootKey(root.accessKeyId, root.secretAccessKey);
    return { written: null };
  }
  if ((await accounts.countAccounts()) > 0) return { written: null };
  const creds = await accounts.createAccountWithKey('default');
  const file = path.join(path.resolve(dataDir), 'credentials.json');
  writeFileSync(file, JSON.stringify(creds, null, 2) + '\n', { mode: 0o600 });
  return { written: file };
}
