import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

const SESSION_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export interface SessionFolders {
  /** <sessionsRoot>/<sessionId>: root-owned, 0711 so the session uid can reach its home only. */
  sessionDir: string;
  /** <sessionDir>/home: owned by the session uid, 0700. */
  home: string;
}

export function sessionFolders(sessionsRoot: string, sessionId: string): SessionFolders {
  if (!SESSION_ID_PATTERN.test(sessionId) || sessionId === '.' || sessionId === '..') {
    throw new Error(`session id not usable as a folder name: ${JSON.stringify(sessionId)}`);
  }
  const sessionDir = path.join(path.resolve(sessionsRoot), sessionId);
  return { sessionDir, home: path.join(sessionDir, 'home') };
}

/**
 * Makes the private home. uid null (reduced isolation) leaves ownership with the server user.
 * Any leftover folder of the same session is removed first so nothing stale is inherited.
 */
export async function createSessionHome(sessionsRoot: string, sessionId: string, uid: number | null): Promise<SessionFolders> {
  const folders = sessionFolders(sessionsRoot, sessionId);
  await mkdir(path.resolve(sessionsRoot), { recursive: true, mode: 0o711 });
  // Session uids must traverse the root to reach their own home (and nothing else: 0711).
  await chmod(path.resolve(sessionsRoot), 0o711);
  await rm(folders.sessionDir, { recursive: true, force: true });
  await mkdir(folders.sessionDir, { mode: 0o711 });
  await chmod(folders.sessionDir, 0o711); // mkdir's mode is filtered by umask
  await mkdir(folders.home, { mode: 0o700 });
  await chmod(folders.home, 0o700);
  if (uid !== null) await chown(folders.home, uid, uid);
  return folders;
}

export async function removeSessionFolder(sessionsRoot: string, sessionId: string): Promise<void> {
  const { sessionDir } = sessionFolders(sessionsRoot, sessionId);
  await rm(sessionDir, { recursive: true, force: true, maxRetries: 3 });
}
