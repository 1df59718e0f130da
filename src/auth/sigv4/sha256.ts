import { createHash } from 'node:crypto';

/** Lower-case hex SHA-256, the hash every SigV4 step uses. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
