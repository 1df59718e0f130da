import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';

const SYSTEM_FOLDERS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The server's PATH folders, optionally followed by the usual system folders. */
export function searchFolders(searchPath: string = process.env['PATH'] ?? '', withSystemFolders = true): string[] {
  const folders = searchPath.split(':').filter((folder) => path.isAbsolute(folder));
  return withSystemFolders ? [...folders, ...SYSTEM_FOLDERS] : folders;
}

/** The full path of the program `name` in the first of `folders` that has it, or null. */
export async function findExecutable(name: string, folders: readonly string[] = searchFolders()): Promise<string | null> {
  for (const folder of folders) {
    const candidate = path.join(folder, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
