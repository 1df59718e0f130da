/**
 * Every test server's captured log is scanned when the server stops: no secret access key,
 * entitlement token, connect token or resume secret may appear in any line, plain or
 * URL-encoded. Known secrets are read from the server's own store; random tokens (connect
 * tokens, resume secrets: 43 base64url characters) are caught by their shape.
 */
import type { App } from '../../src/http/app.js';

/** 32 random bytes in base64url, as every token appstreamd issues; hex digests are allowed. */
const TOKEN_SHAPE = /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;

export async function knownSecrets(app: App): Promise<string[]> {
  const out: string[] = [];
  for (const key of await app.accounts.listKeys()) {
    const credential = await app.accounts.findActiveCredential(key.accessKeyId);
    if (credential) out.push(credential.secretAccessKey);
  }
  const sessions = await app.store.db.selectFrom('sessions').select('id').execute();
  for (const s of sessions) out.push(app.tokens.entitlementToken(s.id));
  return out;
}

/** Returns a description of every offending line (empty when clean). */
export function findSecretsInLogs(lines: readonly string[], secrets: readonly string[]): string[] {
  const problems: string[] = [];
  const needles = secrets.flatMap((s) => [s, encodeURIComponent(s)]);
  for (const line of lines) {
    if (needles.some((n) => n.length >= 16 && line.includes(n))) problems.push(`known secret in: ${line.slice(0, 300)}`);
    for (const m of line.match(TOKEN_SHAPE) ?? []) {
      if (!/^[0-9a-f]+$/i.test(m)) problems.push(`token-shaped value ${m.slice(0, 6)}… in: ${line.slice(0, 300)}`);
    }
  }
  return problems;
}
