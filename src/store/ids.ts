import { randomBytes, randomInt, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

/** 12-digit account ids, as AWS accounts have. */
export function newAccountId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 11; i++) id += String(randomInt(0, 10));
  return id;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** AWS-looking access key id: AKIA + 16 base32 characters. */
export function newAccessKeyId(): string {
  const bytes = randomBytes(16);
  let out = 'AKIA';
  for (let i = 0; i < 16; i++) out += BASE32[bytes[i]! % 32];
  return out;
}

/** 40-character secret (30 random bytes in base64, '+' and '/' as AWS secrets have). */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64');
}

export const nowIso = (clock: () => Date = () => new Date()): string => clock().toISOString();
